// Whether a job's ranks can ever be placed on this cluster: one rule for the create call (refuse
// at once, with a why the user reads in UCloud's job form) and for a job already stored (the
// reconciler says so in its waiting text instead of failing it; docs/adr/0023, 0025).
//
// IM2 never refuses: its scheduler (provider-integration/im2/pkg/integrations/k8s/scheduler.go,
// Schedule/trySchedule) keeps every job in its queue until trySchedule finds a node for every
// replica, which for a product larger than any node, or more full-node replicas than there are
// nodes, is never; the job sits IN_QUEUE with no text (monitoring.go). core2 deletes a job whose
// jobs.create the provider refuses and hands the provider's error to the user
// (core2/pkg/orchestrator/job.go jobCreateThroughProvider: ResourceDelete, then the error), so a
// refusal with a why is what a user can act on; a job queued forever is not.
//
// The rule is trySchedule's over the category's nodes as if they were empty: each node holds
// floor(room / need) ranks, room as the queue status counts it (capacity minus the category's
// system reserve, within the allocatable); the job never fits when the nodes together hold fewer
// ranks than it has. A whole-node product is the case where each node holds one, so more of its
// ranks than nodes is refused. What is left out on purpose, because it passes: a node that is not
// Ready, cordoned or under pressure still counts (maintenance ends), and a category with no node
// at all refuses nothing (nodes may be joining, or an autoscaler adds them on demand). No node
// list yet (start-up, or no permission to list nodes): the caller does not ask.
import type { V1Node } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import type { ProductShape } from '../controller/desired/sizing.js';
import { amounts, inCategory, rankNeed, ranksThatFit } from './queue-status.js';

export interface Sized extends ProductShape {
  id: string;
}

function perRank(product: Sized, config: OperatorConfig, need: Record<string, number>): string {
  const parts = [`${need.cpu! / 1000} CPU`, `${product.memoryInGigs} ${config.jobs.sizing.memoryUnit} memory`];
  for (const [resource, n] of Object.entries(need)) if (resource !== 'cpu' && resource !== 'memory') parts.push(`${n} ${resource}`);
  return parts.join(', ');
}

/**
 * Why `replicas` ranks of `product` can never be placed on `nodes`, even all empty; undefined if
 * they can, or if the category has no node to judge by.
 */
export function neverFitsReason(product: Sized, replicas: number, config: OperatorConfig, nodes: readonly V1Node[]): string | undefined {
  const candidates = nodes.filter((n) => inCategory(n, product.category, config));
  if (!candidates.length) return undefined;
  const { need, reserve } = rankNeed(product, config);
  const resources = Object.keys(need);
  let total = 0;
  let best = 0;
  for (const node of candidates) {
    const room = { capacity: amounts(node.status?.capacity, resources), allocatable: amounts(node.status?.allocatable, resources) };
    const fit = ranksThatFit(room, {}, reserve, need, replicas);
    total += fit;
    best = Math.max(best, fit);
    if (total >= replicas) return undefined;
  }
  const nodesText = candidates.length === 1 ? 'the 1 node' : `the ${candidates.length} nodes`;
  if (best === 0) {
    return (
      `product ${product.id} can never run here: one rank needs ${perRank(product, config, need)}, ` +
      `more than any of ${nodesText} of category ${product.category} has (after the ${reserve.cpu}m CPU a node keeps for itself)`
    );
  }
  return (
    `product ${product.id} can never run ${replicas} ranks at once here: ${nodesText} of category ${product.category} ` +
    `hold at most ${total} of its ranks together, even when empty`
  );
}
