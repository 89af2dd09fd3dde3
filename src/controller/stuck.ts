// Is a job that has not started stuck? Provider-side faults that will not resolve by waiting: an
// image that cannot be pulled (past jobs.imagePullGraceSeconds from the pod getting its node) and,
// with gang backend none only, a pod no node fits (past jobs.unschedulableGraceSeconds from its
// creation). With a gang backend an unschedulable pod is the wait queue's business, not a fault.
// Pure, on the facts pod-facts.ts reads; the planner turns a reason into a failure and asks when to look again.
import type { V1Pod } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import { createdAt, imagePullFailure, podRank, pullingSince, unschedulable } from './pod-facts.js';

type StuckConfig = Pick<OperatorConfig['jobs'], 'imagePullGraceSeconds' | 'unschedulableGraceSeconds'>;

/** Why the first stuck pod is stuck, or undefined while every pod may still start. */
export function stuckReason(pods: readonly V1Pod[], t: number, config: { jobs: StuckConfig }, unschedulableFails: boolean): string | undefined {
  const { imagePullGraceSeconds, unschedulableGraceSeconds } = config.jobs;
  for (const pod of pods) {
    const rank = podRank(pod);
    const pull = imagePullFailure(pod);
    if (pull && t - (pullingSince(pod) ?? t) >= imagePullGraceSeconds * 1000) {
      return `The image of rank ${rank} could not be pulled (${pull.reason}): ${pull.message ?? ''}`.trim();
    }
    const noNode = unschedulable(pod);
    if (unschedulableFails && noNode && t - (createdAt(pod) ?? t) >= unschedulableGraceSeconds * 1000) {
      return `Rank ${rank} could not be scheduled within ${unschedulableGraceSeconds}s: ${noNode.message ?? 'no node fits'}`;
    }
  }
  return undefined;
}

/** How long until a grace period of stuckReason can have run out (look again then), if one can. */
export function stuckCheckIn(pods: readonly V1Pod[], t: number, config: { jobs: StuckConfig }, unschedulableFails: boolean): number | undefined {
  const { imagePullGraceSeconds, unschedulableGraceSeconds } = config.jobs;
  if (!unschedulableFails) {
    // Gang backends: only the image-pull grace of pods that have a node. Once it has passed there
    // is nothing to look again for (a pull that fails later comes as a pod event), and a job that
    // waits hours for room must not be requeued in a loop.
    const bound = pods.filter((p) => p.spec?.nodeName).map((p) => pullingSince(p) ?? t);
    const left = bound.length ? Math.min(...bound) + imagePullGraceSeconds * 1000 - t : 0;
    return left > 0 ? left : undefined;
  }
  const grace = Math.min(imagePullGraceSeconds, unschedulableGraceSeconds) * 1000;
  const since = pods.map((p) => pullingSince(p) ?? t);
  return Math.max(0, Math.min(...since) + grace - t);
}
