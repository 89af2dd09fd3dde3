// retrieveUtilization (`GET .../jobs/retrieveUtilization?categoryId=<c>`), as app-kubernetes
// answered it (docs/ucloud-wire.md, utilization), computed from the cluster:
//   capacity      sum of allocatable cpu (cores) and memory (bytes) of the Ready, schedulable
//                 nodes a job of category c may run on (the same selector the pods get);
//   usedCapacity  sum of the requests of this provider's Running job pods on those nodes;
//   queueStatus   running: the category's UCloudJobs in RUNNING; pending: those not yet running
//                 and not ended (IN_QUEUE, or not yet given a state by the reconciler).
import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { LABEL_JOB } from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';
import type { CallContext } from './context.js';
import { ProviderError } from './errors.js';
import { parseBody } from './schemas.js';

export const UtilizationQuerySchema = z.object({ categoryId: z.string().min(1).max(256) });

export interface Capacity {
  cpu: number;
  memory: number;
}
export interface Utilization {
  capacity: Capacity;
  usedCapacity: Capacity;
  queueStatus: { running: number; pending: number };
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("500m", "16Gi", "1.5", "1e3") as a number; undefined when malformed. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)$/.exec(q.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? '']!;
}

/** The label selector of a category's nodes: what pod-builder puts in the pods' nodeSelector. */
export function categoryNodeSelector(config: OperatorConfig, category: string): Record<string, string> {
  return {
    ...(config.useMachineSelector ? { [config.machineLabel]: category } : {}),
    ...(config.categories[category]?.nodeSelector ?? {}),
  };
}

export function nodeUsable(node: V1Node): boolean {
  if (node.spec?.unschedulable) return false;
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const sumRequests = (containers: V1Container[] | undefined, resource: string): number =>
  (containers ?? []).reduce((s, c) => s + (parseQuantity(c.resources?.requests?.[resource]) ?? 0), 0);

/** A pod's effective request: its containers' sum, or its largest init container if larger. */
export function podRequest(pod: V1Pod, resource: 'cpu' | 'memory'): number {
  const main = sumRequests(pod.spec?.containers, resource);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map((c) => parseQuantity(c.resources?.requests?.[resource]) ?? 0));
  const overhead = parseQuantity(pod.spec?.overhead?.[resource]) ?? 0;
  return Math.max(main, init) + overhead;
}

/** Rounds away float noise (0.1 + 0.2) at millicore / byte precision. */
const cores = (x: number) => Math.round(x * 1000) / 1000;

export function computeUtilization(nodes: V1Node[], pods: V1Pod[], jobs: unknown[], category: string): Utilization {
  const usable = nodes.filter(nodeUsable);
  const names = new Set(usable.map((n) => n.metadata?.name));
  const capacity = {
    cpu: cores(usable.reduce((s, n) => s + (parseQuantity(n.status?.allocatable?.cpu) ?? 0), 0)),
    memory: Math.round(usable.reduce((s, n) => s + (parseQuantity(n.status?.allocatable?.memory) ?? 0), 0)),
  };
  const running = pods.filter((p) => p.status?.phase === 'Running' && names.has(p.spec?.nodeName) && !p.metadata?.deletionTimestamp);
  const usedCapacity = {
    cpu: cores(running.reduce((s, p) => s + podRequest(p, 'cpu'), 0)),
    memory: Math.round(running.reduce((s, p) => s + podRequest(p, 'memory'), 0)),
  };
  let runningJobs = 0;
  let pendingJobs = 0;
  for (const raw of jobs) {
    const job = raw as { spec?: { product?: { category?: string } }; status?: { state?: string } } | null;
    if (job?.spec?.product?.category !== category) continue;
    const state = job.status?.state;
    if (state === 'RUNNING') runningJobs++;
    else if (state === undefined || state === 'IN_QUEUE') pendingJobs++;
  }
  return { capacity, usedCapacity, queueStatus: { running: runningJobs, pending: pendingJobs } };
}

export async function retrieveUtilization(query: unknown, ctx: CallContext): Promise<Utilization> {
  const { categoryId } = parseBody(UtilizationQuerySchema, query ?? {});
  if (!ctx.config.products.some((p) => p.category === categoryId)) {
    throw new ProviderError(404, `categoryId: unknown product category ${categoryId}`, 'UNKNOWN_CATEGORY');
  }
  const selector = Object.entries(categoryNodeSelector(ctx.config, categoryId))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const [nodes, pods, jobs] = await Promise.all([
    ctx.kube.listNodes(selector || undefined),
    ctx.kube.pods.list(ctx.config.namespace, LABEL_JOB),
    ctx.kube.ucloudJobs.list(ctx.config.namespace),
  ]);
  return computeUtilization(nodes, pods.items, jobs.items, categoryId);
}
