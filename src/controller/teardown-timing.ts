// When an ended job's children are deleted (docs/adr/0029). Pure.
//
// A job whose ranks have all ended by themselves holds nothing a teardown frees at once: its pods
// have finished (the scheduler no longer counts them) and run no code. Deleting its pod, ConfigMap,
// Service and NetworkPolicy sets off more writes than the job's final state did (the kubelet's or
// kwok's status updates, the endpoints and EndpointSlice controllers, the garbage collector), all
// on the apiserver that the final states of other jobs are waiting for. After a restart with 1,000
// of 10,000 jobs ended, those teardowns ran while the final states were still being written and
// reported (docs/performance.md, f1). So such a job's teardown waits until UCloud/Core has its final
// state and no other job's status write is in flight (the writes a burst of endings is made of),
// at most REPORT_WAIT_MS from when this process first saw it ended (Core may be away, a burst may
// last). A job with a rank still running (it expired, was stopped, or another rank failed) is torn
// down at once: its code must stop.
import type { V1Pod } from '@kubernetes/client-node';
import { unacknowledged, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import { userContainerState } from './pod-facts.js';

export const REPORT_WAIT_MS = 60_000;
/** How soon a teardown held back by other jobs' status writes looks again. */
export const BUSY_RECHECK_MS = 1000;

function rankEnded(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || !!pod.metadata?.deletionTimestamp || !!userContainerState(pod)?.terminated;
}

/**
 * Milliseconds before an ended job's teardown may start (0: now). `seenEndedAt`: when this process
 * first saw it final; `stateWritesInFlight`: the reconciler's state writes of other jobs now (write-priority.ts).
 */
export function teardownDelayMs(job: UCloudJob, pods: readonly V1Pod[], seenEndedAt: number, now: number, stateWritesInFlight = 0): number {
  if (!pods.every(rankEnded)) return 0;
  const left = Math.max(0, seenEndedAt + REPORT_WAIT_MS - now);
  if (left === 0) return 0;
  const reported = !!job.status?.unknownToCore || unacknowledged(job.status).length === 0;
  if (!reported) return left;
  return stateWritesInFlight > 0 ? Math.min(BUSY_RECHECK_MS, left) : 0;
}
