// One reading of a job's pod: which rank it is, which container runs the user's program, and
// that container's state. The planner, the state mapping and the peer aliases all ask these
// questions; answering them in one place keeps a pod from being rank 2 to one and no rank to another.
import type { V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { LABEL_RANK } from '../api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../api/v1alpha1/names.js';

/** The pod's rank from its label: a non-negative integer in decimal digits, else undefined. */
export function podRank(pod: V1Pod): number | undefined {
  const v = pod.metadata?.labels?.[LABEL_RANK];
  return v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : undefined;
}

/**
 * The status of the container that runs the user's program: the one named USER_CONTAINER. A pod
 * whose statuses name no container (as some stored or hand-written pods do) has only that one.
 */
export function userContainerStatus(pod: V1Pod): V1ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.find((c) => c.name === USER_CONTAINER) ?? (statuses.length === 1 && !statuses[0]!.name ? statuses[0] : undefined);
}

/** The user container's current state. */
export function userContainerState(pod: V1Pod): V1ContainerState | undefined {
  return userContainerStatus(pod)?.state;
}
