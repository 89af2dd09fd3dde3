// The live capacity behind retrieveProducts' queueStatus, kept so that answering the poll (core2
// asks every ~10 s) costs no apiserver call and no more than one pass over what is cached:
//   - job pods: a watch of this provider's pods (every replica serves the adapter, and only the
//     leader has the reconciler's cache), each trimmed to its node and its effective requests;
//   - nodes: listed at most every `nodeRefreshMs` (nodes change rarely, and the chart grants
//     get/list on nodes, not watch), the last list kept when a refresh fails. Without the
//     permission (rbac.clusterNodesRead: false) no queueStatus is sent.
// The answer is recomputed only when one of the two changed since the last one.
import type { KubeConfig, V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';
import { Informer } from '../k8s/informer.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { neverFitsReason, type Sized } from './never-fits.js';
import { queueStatuses, type JobQueueStatus, type PodUsage } from './queue-status.js';
import { parseQuantity } from './utilization.js';

export type CachedUsage = PodUsage & { metadata: { name?: string; namespace?: string; resourceVersion?: string } };

/** cpu, memory and extended resources (GPUs): what a node's room is counted in. */
const counted = (resource: string): boolean => resource === 'cpu' || resource === 'memory' || resource.includes('/');

function add(into: Record<string, number>, containers: V1Container[] | undefined, pick: (a: number, b: number) => number): void {
  for (const c of containers ?? []) {
    for (const [r, q] of Object.entries(c.resources?.requests ?? {})) {
      const v = parseQuantity(q);
      if (v === undefined || !counted(r)) continue;
      const amount = r === 'cpu' ? Math.round(v * 1000) : v;
      into[r] = pick(into[r] ?? 0, amount);
    }
  }
}

/**
 * A pod's effective requests as the scheduler counts them (the containers' sum, or an init
 * container's if larger, plus the RuntimeClass overhead); nothing for a pod that is not bound to
 * a node or has finished (the scheduler no longer counts those).
 */
export function podUsage(raw: unknown): CachedUsage {
  const pod = raw as V1Pod;
  const metadata = { name: pod.metadata?.name, namespace: pod.metadata?.namespace, resourceVersion: pod.metadata?.resourceVersion };
  const phase = pod.status?.phase;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName || phase === 'Succeeded' || phase === 'Failed') return { metadata, nodeName: '', requests: {} };
  const main: Record<string, number> = {};
  add(main, pod.spec?.containers, (a, b) => a + b);
  const init: Record<string, number> = {};
  add(init, pod.spec?.initContainers, Math.max);
  const requests: Record<string, number> = {};
  for (const r of new Set([...Object.keys(main), ...Object.keys(init)])) requests[r] = Math.max(main[r] ?? 0, init[r] ?? 0);
  add(requests, [{ name: 'overhead', resources: { requests: pod.spec?.overhead } }], (a, b) => a + b);
  return { metadata, nodeName, requests };
}

/** What the cache needs of its pod watch (an Informer; tests give a list they control). */
export interface PodUsageSource {
  readonly hasSynced: boolean;
  list(): CachedUsage[];
  onChange(handler: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface CapacityDeps {
  kc: KubeConfig;
  kube: KubePort;
  config: OperatorConfig;
  logger: Logger;
  metrics?: OperatorMetrics;
  /** Nodes are listed again when the last list is older than this (default 10 s). */
  nodeRefreshMs?: number;
  now?: () => number;
  /** The job pods' usage; default: a watch of this provider's pods in the jobs namespace. */
  pods?: PodUsageSource;
}

export class CapacityCache {
  private readonly pods: PodUsageSource;
  private nodes?: V1Node[];
  private nodesAt = 0;
  private nodesTried = -Infinity;
  private nodeRefresh?: Promise<void>;
  private podsVersion = 0;
  private memo?: { podsVersion: number; nodesAt: number; statuses: Map<string, JobQueueStatus> };
  private readonly now: () => number;

  constructor(private readonly deps: CapacityDeps) {
    const ns = deps.config.namespace;
    const selector = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    this.now = deps.now ?? Date.now;
    this.pods =
      deps.pods ??
      new Informer<CachedUsage>({
        kc: deps.kc,
        path: `/api/v1/namespaces/${ns}/pods`,
        list: (page) => deps.kube.pods.list(ns, selector, page),
        labelSelector: selector,
        resource: 'pods-capacity',
        logger: deps.logger,
        metrics: deps.metrics,
        relistIntervalMs: 10 * 60_000,
        transform: podUsage,
      });
    this.pods.onChange(() => this.podsVersion++);
  }

  /** Starts the pod watch in the background: until its first list, there is no answer. */
  start(): void {
    void this.pods.start();
  }

  async stop(): Promise<void> {
    await this.pods.stop();
  }

  private refreshNodes(): Promise<void> {
    this.nodesTried = this.now();
    this.nodeRefresh ??= this.deps.kube
      .listNodes()
      .then((nodes) => {
        this.nodes = nodes;
        this.nodesAt = this.now();
      })
      .catch((err: unknown) => {
        // Keep answering from the last list (none: no queueStatus); try again after the interval.
        this.deps.logger.warn('Listing nodes for the queue status failed (rbac.clusterNodesRead off?)', { err });
      })
      .finally(() => (this.nodeRefresh = undefined));
    return this.nodeRefresh;
  }

  /**
   * The last node list (undefined until one succeeded), refreshed when it is due: the first call
   * waits for the list; later ones answer from the last list while it refreshes.
   */
  async knownNodes(): Promise<readonly V1Node[] | undefined> {
    if (this.due() && !this.nodes) await this.refreshNodes();
    return this.lastNodes();
  }

  /** The last node list without waiting (a refresh starts in the background when due). */
  lastNodes(): readonly V1Node[] | undefined {
    if (this.due()) void this.refreshNodes();
    return this.nodes;
  }

  /**
   * Why a stored job's ranks can no longer be placed on the last known nodes (never-fits.ts), for
   * its waiting text; undefined when they can, while no nodes are known, or with the check off.
   */
  neverFits(job: { product: Sized; replicas: number }): string | undefined {
    const nodes = this.deps.config.jobs.sizing.refuseWhatNeverFits ? this.lastNodes() : undefined;
    return nodes && neverFitsReason(job.product, job.replicas, this.deps.config, nodes);
  }

  private due(): boolean {
    return this.now() - this.nodesTried >= (this.deps.nodeRefreshMs ?? 10_000);
  }

  /** Every product's queue status, or undefined while there is nothing to judge it by yet. */
  async queueStatuses(): Promise<Map<string, JobQueueStatus> | undefined> {
    await this.knownNodes();
    if (!this.nodes || !this.pods.hasSynced) return undefined;
    const memo = this.memo;
    if (memo && memo.podsVersion === this.podsVersion && memo.nodesAt === this.nodesAt) return memo.statuses;
    const statuses = queueStatuses(
      this.deps.config,
      this.nodes,
      this.pods.list().filter((p) => p.nodeName !== ''),
    );
    this.memo = { podsVersion: this.podsVersion, nodesAt: this.nodesAt, statuses };
    return statuses;
  }
}
