// One reading of a job's pod: which rank it is, which container runs the user's program, and
// that container's state. The planner, the state mapping and the peer aliases all ask these
// questions; answering them in one place keeps a pod from being rank 2 to one and no rank to another.
import type { V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { LABEL_RANK } from '../api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../api/v1alpha1/names.js';

/** How the init-script runner (pod-builder.ts withInitScript) tells the state mapping why a rank never started its program. */
export const INIT_SCRIPT_FAILED = 'init-script: ';

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

/** A time from the apiserver (a Date or an RFC 3339 string) in ms, else undefined. */
export function toTime(v: unknown): number | undefined {
  // Not `instanceof Date`: a Date from another realm (client-node under Jest's VM) fails it.
  if (Object.prototype.toString.call(v) === '[object Date]') return (v as Date).getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** When the pod was created, if it says. */
export const createdAt = (pod: V1Pod): number | undefined => toTime(pod.metadata?.creationTimestamp);

/** When the pod got its node (its PodScheduled condition turned True), else undefined. */
export function scheduledAt(pod: V1Pod): number | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'True');
  return c ? toTime(c.lastTransitionTime) : undefined;
}

/** When the user container started running, if the pod says. */
export function containerStartedAt(pod: V1Pod): number | undefined {
  const cs = userContainerState(pod);
  return toTime(cs?.running?.startedAt) ?? toTime(cs?.terminated?.startedAt) ?? toTime(pod.status?.startTime);
}

/** When the user container ended, if it has. */
export function containerFinishedAt(pod: V1Pod): number | undefined {
  return toTime(userContainerState(pod)?.terminated?.finishedAt);
}

/** The scheduler's "no node fits" (PodScheduled=False, Unschedulable), with its words, if it said so. */
export function unschedulable(pod: V1Pod): { message?: string } | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' && c.reason === 'Unschedulable' ? { ...(c.message !== undefined ? { message: c.message } : {}) } : undefined;
}

/**
 * Since when the pod has been pulling its image: an image is pulled once the pod has a node, so a
 * pod that waited long for one counts from then (from its creation when the scheduler did not say).
 */
export const pullingSince = (pod: V1Pod): number | undefined => scheduledAt(pod) ?? createdAt(pod);

/** The user container waits for an image that could not be pulled (kubelet's ErrImagePull, ImagePullBackOff, …). */
export function imagePullFailure(pod: V1Pod): { reason: string; message?: string } | undefined {
  const waiting = userContainerState(pod)?.waiting;
  if (!waiting || !/ImagePull|ErrImage|InvalidImageName/.test(waiting.reason ?? '')) return undefined;
  return { reason: waiting.reason!, ...(waiting.message !== undefined ? { message: waiting.message } : {}) };
}

const clean = (s: string | undefined): string => (s ?? '').replace(/\s+/g, ' ').trim();
/** ": words" when there are words, else nothing. */
export const detail = (s: string | undefined): string => (clean(s) ? `: ${clean(s)}` : '');

/** Why a pod that has not started waits, in words: the scheduler's, the kubelet's (user container, then init containers), or where it is. */
export function waitingReason(pod: V1Pod): string {
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched?.status === 'False') return `${sched.reason ?? 'Unschedulable'}${detail(sched.message)}`;
  const waiting = userContainerState(pod)?.waiting ?? pod.status?.initContainerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  if (waiting?.reason) return `${waiting.reason}${detail(waiting.message)}`;
  return pod.spec?.nodeName ? 'starting' : 'waiting to be scheduled';
}
