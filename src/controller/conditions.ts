// Condition types and reasons in one place (kubebuilder's conditions.go habit), plus the
// metav1.Condition update rule: lastTransitionTime only moves when status flips.
import type { Condition } from '../api/v1alpha1/ucloudjob.js';

export const ConditionType = {
  /** All ranks are running (False explains what the job waits for). */
  Running: 'Running',
  /** The job reached a final state; reason is the UCloud state. */
  Finished: 'Finished',
  /** Every decided update has been acknowledged by UCloud/Core. */
  Reported: 'Reported',
  /** The object does not match the schema; the reconciler cannot act on it. */
  InvalidSpec: 'InvalidSpec',
  /** False while the apiserver refuses one of the job's children (quota, admission, Pod Security). */
  ChildrenCreated: 'ChildrenCreated',
  /** False once UCloud/Core has said it has no such job (status.unknownToCore); absent before. */
  KnownToCore: 'KnownToCore',
} as const;

export const Reason = {
  WaitingForRanks: 'WaitingForRanks',
  AllRanksRunning: 'AllRanksRunning',
  Stopped: 'Stopped',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Expired: 'Expired',
  Terminated: 'Terminated',
  NoCredits: 'InsufficientFunds',
  /** Kueue took a running job's admission back (its Workload Evicted: a higher-priority Workload, a stopped queue). */
  Preempted: 'Preempted',
  InProgress: 'InProgress',
  UpdatesPending: 'UpdatesPending',
  Acknowledged: 'Acknowledged',
  SchemaViolation: 'SchemaViolation',
  /** UCloud/Core has no such job (status.unknownToCore). */
  UnknownToCore: 'UnknownToCore',
  /** Matches the schema but cannot run here (unknown product, bad image, ...: spec-check.ts). */
  UnsupportedSpec: 'UnsupportedSpec',
  /** Event and ChildrenCreated reasons: the apiserver refused a pod / a supporting object. */
  FailedCreatePod: 'FailedCreatePod',
  FailedCreateChild: 'FailedCreateChild',
  ChildrenCreated: 'Created',
} as const;

export function setCondition(conditions: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  const updated: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = updated;
  else list.push(updated);
  return list;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
