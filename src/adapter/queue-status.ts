// How busy each product is, for retrieveProducts' `queueStatus` (core2's JobSupport.queueStatus,
// provider-integration/shared/pkg/orchestrators/jobs.go: AVAILABLE, BUSY, FULL). UCloud's machine
// picker shows a product without one as FULL (frontend-web/webclient/app/Products/Selector.tsx),
// so a provider that sends none looks full to every user.
//
// IM2's rule (provider-integration/im2/pkg/integrations/k8s/monitoring.go, the queueStatusMap
// loop, and scheduler.go trySchedule): a dry run places one and then two ranks of the product on
// the category's nodes as they are now; both fit: AVAILABLE, only one: BUSY, none: FULL. A node's
// room is its capacity minus the requests of the job pods bound to it and the category's system
// reserve, and what is used must also stay within its allocatable. One deviation: IM2 counts the
// reserve against the allocatable too, so on a node whose kubelet already keeps back a share
// (allocatable < capacity) the reserve is counted twice and a whole-node product that the
// scheduler places would be called FULL; here the allocatable is compared with what the
// scheduler compares it with, the pods' requests. A node that is not Ready or
// reports memory, disk or PID pressure takes nothing (IM2 zeroes its limits), nor does a cordoned
// one. This operator also skips nodes whose NoSchedule/NoExecute taints the category does not
// tolerate, which the scheduler would skip too.
//
// Pure: the caller supplies the nodes and the job pods (capacity.ts keeps them cached).
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import { rankDimensions, systemReservedCpuMillis, type ProductShape } from '../controller/desired/sizing.js';
import { categoryNodeSelector, parseQuantity } from './utilization.js';

export const QUEUE_STATUSES = ['AVAILABLE', 'BUSY', 'FULL'] as const;
export type JobQueueStatus = (typeof QUEUE_STATUSES)[number];

/** A job pod as the queue status needs it: where it is bound and what it requests (cpu in millicores). */
export interface PodUsage {
  nodeName: string;
  requests: Record<string, number>;
}

export type Amounts = Record<string, number>;

const PRESSURE = new Set(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable']);

/** IM2's nodeAvailability and its conditions that zero a node's limits. */
function nodeTakesWork(node: V1Node): boolean {
  if (node.spec?.unschedulable) return false;
  const conditions = node.status?.conditions ?? [];
  if (!conditions.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
  return !conditions.some((c) => PRESSURE.has(c.type) && c.status === 'True');
}

type Toleration = NonNullable<OperatorConfig['categories'][string]['tolerations']>[number];

function tolerates(tolerations: readonly Toleration[], taint: V1Taint): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === taint.effect) &&
      (t.operator === 'Exists' ? t.key === undefined || t.key === taint.key : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
  );
}

/** A node the category's pods may land on: its node selector matches and every hard taint is tolerated. */
export function inCategory(node: V1Node, category: string, config: OperatorConfig): boolean {
  const labels = node.metadata?.labels ?? {};
  if (!Object.entries(categoryNodeSelector(config, category)).every(([k, v]) => labels[k] === v)) return false;
  const tolerations = config.categories[category]?.tolerations ?? [];
  return (node.spec?.taints ?? []).every((t) => t.effect === 'PreferNoSchedule' || tolerates(tolerations, t));
}

/** A resource list as numbers: cpu in millicores, the rest as the quantity's value. */
export function amounts(list: Record<string, string> | undefined, resources: readonly string[]): Amounts {
  const out: Amounts = {};
  for (const r of resources) {
    const q = parseQuantity(list?.[r]);
    if (q !== undefined) out[r] = r === 'cpu' ? Math.round(q * 1000) : q;
  }
  return out;
}

/** How many ranks of `need` a node still takes, counting at most `upTo`. */
export function ranksThatFit(node: { capacity: Amounts; allocatable: Amounts }, pods: Amounts, reserve: Amounts, need: Amounts, upTo: number): number {
  let fit = upTo;
  for (const [r, n] of Object.entries(need)) {
    if (n <= 0) continue;
    const capacity = node.capacity[r] ?? node.allocatable[r] ?? 0;
    const allocatable = node.allocatable[r] ?? capacity;
    const used = pods[r] ?? 0;
    const room = Math.min(capacity - used - (reserve[r] ?? 0), allocatable - used);
    fit = Math.min(fit, Math.max(0, Math.floor(room / n)));
  }
  return fit;
}

/** What one rank of a product needs of a node, and what the node keeps for itself (ADR 0023). */
export function rankNeed(product: ProductShape, config: OperatorConfig): { need: Amounts; reserve: Amounts } {
  const d = rankDimensions(product, config);
  return {
    need: { cpu: d.cpuRequestMillis, memory: d.memoryBytes, ...(d.gpu > 0 ? { [d.gpuResource]: d.gpu } : {}) },
    reserve: { cpu: systemReservedCpuMillis(product.category, config) },
  };
}

/** The queue status of every configured product, by product id. */
export function queueStatuses(config: OperatorConfig, nodes: readonly V1Node[], pods: readonly PodUsage[]): Map<string, JobQueueStatus> {
  const usedByNode = new Map<string, Amounts>();
  for (const pod of pods) {
    const used = usedByNode.get(pod.nodeName) ?? {};
    for (const [r, n] of Object.entries(pod.requests)) used[r] = (used[r] ?? 0) + n;
    usedByNode.set(pod.nodeName, used);
  }
  const out = new Map<string, JobQueueStatus>();
  for (const product of config.products) {
    const { need, reserve } = rankNeed(product, config);
    const resources = Object.keys(need);
    let fit = 0;
    for (const node of nodes) {
      if (fit >= 2) break;
      if (!nodeTakesWork(node) || !inCategory(node, product.category, config)) continue;
      const room = { capacity: amounts(node.status?.capacity, resources), allocatable: amounts(node.status?.allocatable, resources) };
      fit += ranksThatFit(room, usedByNode.get(node.metadata?.name ?? '') ?? {}, reserve, need, 2 - fit);
    }
    out.set(product.id, fit >= 2 ? 'AVAILABLE' : fit === 1 ? 'BUSY' : 'FULL');
  }
  return out;
}
