// The reconciler's decisions as a pure function: given a UCloudJob, the pods that exist for it and
// the time, what should its status be, which ranks' pods must be created, whether everything
// must be torn down, and when to look again. No I/O here, so every rule is table-testable and the
// reconciler stays a thin loop of "plan, persist status, act".
import type { V1Pod } from '@kubernetes/client-node';
import {
  isFinal,
  unacknowledged,
  type OutboxEntry,
  type UCloudJob,
  type UCloudJobState,
  type UCloudJobStatus,
} from '../api/v1alpha1/ucloudjob.js';
import { jobIdLabelValue } from '../api/v1alpha1/names.js';
import type { OperatorConfig } from '../config.js';
import { ConditionType, Reason, setCondition } from './conditions.js';
import { mapPods } from './state-mapping.js';
import { canonicalJson } from './canonical-json.js';
import { podRank, userContainerState } from './pod-facts.js';

export interface PlanInput {
  job: UCloudJob;
  pods: readonly V1Pod[];
  now: Date;
  config: OperatorConfig;
  /** When each rank's pod was first seen missing after the job had started (in memory). */
  firstMissingAt?: ReadonlyMap<number, number>;
}

export interface Transition {
  from: UCloudJobState;
  to: UCloudJobState;
  message: string;
}

export interface Plan {
  status: UCloudJobStatus;
  /** Status differs from what is stored and must be written before acting. */
  statusChanged: boolean;
  transitions: Transition[];
  /** Ranks whose pod is missing and must be created. */
  createRanks: number[];
  /** ConfigMap, Service and NetworkPolicy must exist. */
  ensureSupporting: boolean;
  /** The job is final: delete every pod and supporting object. */
  teardown: boolean;
  /** Look again by then even if nothing changes (deadlines, grace periods). */
  requeueAfterMs?: number;
  /** Ranks currently missing while the job runs (the reconciler tracks since when). */
  missingRanks: number[];
}

/** The message of a job stopped because UCloud/Core has no such job (status.unknownToCore). */
export const UNKNOWN_TO_CORE_MESSAGE = 'UCloud/Core does not know this job (it may have given up on its creation); stopped';

/** Outbox entries beyond this many acknowledged ones are dropped when status is rewritten. */
const KEEP_ACKNOWLEDGED = 3;


const ms = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);
const iso = (t: number): string => new Date(t).toISOString();

function toTime(v: unknown): number | undefined {
  // Not `instanceof Date`: a Date from another realm (client-node under Jest's VM) fails it.
  if (Object.prototype.toString.call(v) === '[object Date]') return (v as Date).getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** When the user container of a pod started running, if the pod says. */
function containerStartedAt(pod: V1Pod): number | undefined {
  const cs = userContainerState(pod);
  return toTime(cs?.running?.startedAt) ?? toTime(cs?.terminated?.startedAt) ?? toTime(pod.status?.startTime);
}

function containerFinishedAt(pod: V1Pod): number | undefined {
  return toTime(userContainerState(pod)?.terminated?.finishedAt);
}

/** The UCloud path of the job's /work folder: its job folder's, or the site work volume's when visible in UCloud. */
export function outputFolderOf(job: UCloudJob, config: OperatorConfig): string | undefined {
  if (job.spec.jobFolder) return job.spec.jobFolder.ucloudPath;
  const work = config.jobs.workVolume;
  if (work.type !== 'pvc' || !work.ucloudPath) return undefined;
  return `${work.ucloudPath.replace(/\/+$/, '')}/${jobIdLabelValue(job.spec.jobId)}`;
}

function nextSeq(status: UCloudJobStatus | undefined): number {
  const entries = status?.outbox?.entries ?? [];
  const last = entries.length ? entries[entries.length - 1]!.seq : 0;
  return Math.max(last, status?.outbox?.acknowledgedSeq ?? 0) + 1;
}

function appendOutbox(status: UCloudJobStatus, entry: Omit<OutboxEntry, 'seq'>): void {
  const acknowledgedSeq = status.outbox?.acknowledgedSeq ?? 0;
  const entries = [...(status.outbox?.entries ?? []), { ...entry, seq: nextSeq(status) }];
  status.outbox = { acknowledgedSeq, entries };
}

/** Drops acknowledged entries beyond the last few kept for `kubectl get -o yaml` readers. */
function pruneOutbox(status: UCloudJobStatus): void {
  const box = status.outbox;
  if (!box) return;
  const acked = box.entries.filter((e) => e.seq <= box.acknowledgedSeq);
  const pending = box.entries.filter((e) => e.seq > box.acknowledgedSeq);
  status.outbox = { acknowledgedSeq: box.acknowledgedSeq, entries: [...acked.slice(-KEEP_ACKNOWLEDGED), ...pending] };
}

function minDefined(...xs: Array<number | undefined>): number | undefined {
  const d = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return d.length ? Math.max(0, Math.min(...d)) : undefined;
}

/** Each rank's pod that is not being deleted. */
export function livePodsByRank(replicas: number, pods: readonly V1Pod[]): Map<number, V1Pod> {
  const byRank = new Map<number, V1Pod>();
  for (const pod of pods) {
    const r = podRank(pod);
    if (r !== undefined && r < replicas && !pod.metadata?.deletionTimestamp) byRank.set(r, pod);
  }
  return byRank;
}

/**
 * When every rank of the job has ended by itself, per its pods (the last rank's finish), or
 * undefined while any rank has not. It is the finishedAt the planner will record for a job that
 * ended on its own; accounting caps the bill of a job that is not final yet there, in case it runs
 * before the reconciler has caught up (after a restart, with a long queue).
 */
export function ranksEndedAt(job: UCloudJob, pods: readonly V1Pod[], config: OperatorConfig, now: Date): number | undefined {
  const live = [...livePodsByRank(job.spec.replicas, pods).values()];
  if (live.length !== job.spec.replicas) return undefined;
  const mapped = mapPods({ replicas: job.spec.replicas, pods: live, failureRule: config.jobs.failureRule, now });
  if (!mapped.finished) return undefined;
  return Math.max(...live.map((p) => containerFinishedAt(p) ?? now.getTime()));
}

export function planJob(input: PlanInput): Plan {
  const { job, now, config } = input;
  const t = now.getTime();
  const spec = job.spec;
  const prev = job.status ?? {};
  const status: UCloudJobStatus = structuredClone(prev);
  const transitions: Transition[] = [];
  const generation = job.metadata.generation;
  const prevState: UCloudJobState = prev.state ?? 'IN_QUEUE';
  status.state = prevState;
  status.observedGeneration = generation;

  // Reported with RUNNING: from then on the job's files are in its /work folder.
  const folder = outputFolderOf(job, config);
  const output = folder ? { outputFolder: folder } : {};

  const podsByRank = livePodsByRank(spec.replicas, input.pods);
  const livePods = [...podsByRank.values()];

  const finish = (state: UCloudJobState, message: string, finishedAt = t): void => {
    if (isFinal(status.state)) return;
    // A job that ran but whose RUNNING we never observed (it finished between two looks) still
    // gets RUNNING reported first, so UCloud's timeline and billing see that it ran.
    if (status.state === 'IN_QUEUE' && status.startedAt !== undefined) {
      transitions.push({ from: 'IN_QUEUE', to: 'RUNNING', message: 'The job is running' });
      appendOutbox(status, { at: status.startedAt!, state: 'RUNNING', status: 'The job is running', ...output });
    }
    transitions.push({ from: status.state ?? 'IN_QUEUE', to: state, message });
    status.state = state;
    status.message = message;
    status.finishedAt = iso(finishedAt);
    appendOutbox(status, { at: iso(t), state, status: message });
  };

  if (!isFinal(prevState)) {
    const mapped = mapPods({ replicas: spec.replicas, pods: livePods, failureRule: config.jobs.failureRule, now });
    status.readyReplicas = mapped.runningRanks;
    status.ranks = `${mapped.runningRanks}/${spec.replicas}`;

    // Start of the job: the moment the last rank started running (some may already have ended).
    const allStarted = mapped.perRank.every((r) => r.phase === 'Running' || r.phase === 'Succeeded' || r.phase === 'Failed');
    if (!status.startedAt && allStarted && livePods.length === spec.replicas) {
      const starts = livePods.map(containerStartedAt);
      const startedAt = starts.every((s) => s !== undefined) ? Math.max(...(starts as number[])) : t;
      status.startedAt = iso(Math.min(startedAt, t));
    }
    const startedAt = ms(status.startedAt);
    if (startedAt !== undefined && spec.timeAllocationMillis !== undefined) {
      status.expiresAt = iso(startedAt + spec.timeAllocationMillis);
    }
    const expiresAt = ms(status.expiresAt);

    const createdAt = toTime(job.metadata.creationTimestamp) ?? t;
    const lastFinish = Math.max(...livePods.map((p) => containerFinishedAt(p) ?? t));

    // Every reason the job has ended by now, with the moment it ended. Usually there is one; after
    // an outage of the operator there may be several (the job expired, then its ranks exited, then
    // the user pressed stop), and the earliest is what happened: the job is reported and billed as
    // a live operator would have done. Equal moments keep this order.
    const endings: Array<{ state: UCloudJobState; message: string; at: number }> = [];
    if (mapped.finished && (mapped.state === 'SUCCESS' || mapped.state === 'FAILURE')) {
      endings.push({ state: mapped.state, message: mapped.message, at: livePods.length ? lastFinish : t });
    } else if (mapped.state === 'FAILURE') {
      // A failed rank ends the whole job at once; the other ranks are stopped (now).
      endings.push({ state: 'FAILURE', message: mapped.message, at: t });
    }
    if (expiresAt !== undefined && t >= expiresAt) endings.push({ state: 'EXPIRED', message: 'Job exceeded its time allocation', at: expiresAt });
    if (spec.terminationRequestedAt) {
      endings.push({ state: 'SUCCESS', message: 'Job was terminated by the user', at: Math.min(ms(spec.terminationRequestedAt) ?? t, t) });
    }
    if (prev.insufficientFunds) endings.push({ state: 'SUCCESS', message: 'terminated (no credits)', at: t });
    if (prev.unknownToCore) {
      endings.push({ state: 'FAILURE', message: UNKNOWN_TO_CORE_MESSAGE, at: Math.min(ms(prev.unknownToCore.at) ?? t, t) });
    }
    const ending = endings.reduce<(typeof endings)[number] | undefined>((a, b) => (a === undefined || b.at < a.at ? b : a), undefined);

    if (ending) {
      finish(ending.state, ending.message, ending.at);
    } else if (startedAt === undefined && t - createdAt >= config.jobs.gangTimeoutSeconds * 1000) {
      finish(
        'FAILURE',
        `Not all ranks were running within ${config.jobs.gangTimeoutSeconds}s (${mapped.runningRanks}/${spec.replicas} running): ${mapped.message}`,
      );
    } else if (startedAt === undefined) {
      const stuck = stuckReason(livePods, t, config);
      if (stuck) finish('FAILURE', stuck);
    }

    const missingRanks: number[] = [];
    if (!isFinal(status.state) && startedAt !== undefined) {
      for (let r = 0; r < spec.replicas; r++) if (!podsByRank.has(r)) missingRanks.push(r);
      const grace = config.jobs.vanishedPodGraceSeconds * 1000;
      const vanished = missingRanks.filter((r) => t - (input.firstMissingAt?.get(r) ?? t) >= grace);
      if (vanished.length) finish('FAILURE', `The pod of rank ${vanished.join(', ')} disappeared while the job was running`);
    }

    if (!isFinal(status.state) && allStarted && status.state === 'IN_QUEUE') {
      transitions.push({ from: 'IN_QUEUE', to: 'RUNNING', message: 'The job is running' });
      status.state = 'RUNNING';
      status.message = 'The job is running';
      appendOutbox(status, { at: status.startedAt ?? iso(t), state: 'RUNNING', status: 'The job is running', ...output });
    } else if (!isFinal(status.state)) {
      status.message = mapped.message;
    }

    // extend: the allocation changed since we last queued it for UCloud/Core.
    if (
      spec.timeAllocationMillis !== undefined &&
      prev.reportedTimeAllocationMillis !== undefined &&
      spec.timeAllocationMillis !== prev.reportedTimeAllocationMillis &&
      !isFinal(status.state)
    ) {
      appendOutbox(status, { at: iso(t), newTimeAllocation: spec.timeAllocationMillis });
    }
    if (spec.timeAllocationMillis !== undefined) status.reportedTimeAllocationMillis = spec.timeAllocationMillis;

    showDeadline(status);
    status.conditions = runningConditions(status, mapped.message, generation, now);
    pruneOutbox(status);

    const final = isFinal(status.state);
    const createRanks: number[] = [];
    if (!final && startedAt === undefined) {
      for (let r = 0; r < spec.replicas; r++) if (!podsByRank.has(r)) createRanks.push(r);
    }
    const expiryIn = expiresAt !== undefined ? expiresAt - t : undefined;
    const gangIn = startedAt === undefined ? createdAt + config.jobs.gangTimeoutSeconds * 1000 - t : undefined;
    const graceIn = missingRanks.length ? config.jobs.vanishedPodGraceSeconds * 1000 : undefined;
    const stuckIn = startedAt === undefined && livePods.length ? stuckCheckIn(livePods, t, config) : undefined;
    return {
      status,
      statusChanged: !sameStatus(prev, status),
      transitions,
      createRanks,
      ensureSupporting: !final,
      teardown: final,
      requeueAfterMs: final ? undefined : minDefined(expiryIn, gangIn, graceIn, stuckIn),
      missingRanks: final ? [] : missingRanks,
    };
  }

  // Final: nothing runs any more; keep the record and make sure everything below it is gone.
  showDeadline(status);
  status.conditions = runningConditions(status, status.message ?? '', generation, now);
  pruneOutbox(status);
  return {
    status,
    statusChanged: !sameStatus(prev, status),
    transitions,
    createRanks: [],
    ensureSupporting: false,
    teardown: true,
    missingRanks: [],
  };
}

function runningConditions(status: UCloudJobStatus, waiting: string, generation: number | undefined, now: Date) {
  let conditions = status.conditions ?? [];
  const state = status.state ?? 'IN_QUEUE';
  const running = state === 'RUNNING';
  const final = isFinal(state);
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Running,
      status: running ? 'True' : 'False',
      reason: running ? Reason.AllRanksRunning : final ? Reason.Stopped : Reason.WaitingForRanks,
      message: running ? `All ${status.ranks?.split('/')[1] ?? ''} ranks are running`.replace('  ', ' ') : final ? 'The job has ended' : waiting,
      observedGeneration: generation,
    },
    now,
  );
  const finishedReason =
    state === 'SUCCESS'
      ? status.message === 'terminated (no credits)'
        ? Reason.NoCredits
        : status.message?.startsWith('Job was terminated')
          ? Reason.Terminated
          : Reason.Succeeded
      : state === 'FAILURE'
        ? status.message === UNKNOWN_TO_CORE_MESSAGE
          ? Reason.UnknownToCore
          : Reason.Failed
        : state === 'EXPIRED'
          ? Reason.Expired
          : Reason.InProgress;
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Finished,
      status: final ? 'True' : 'False',
      reason: finishedReason,
      message: final ? (status.message ?? state) : 'The job has not ended',
      observedGeneration: generation,
    },
    now,
  );
  const pending = unacknowledged(status).length;
  const unknown = status.unknownToCore;
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Reported,
      status: pending || unknown ? 'False' : 'True',
      reason: unknown ? Reason.UnknownToCore : pending ? Reason.UpdatesPending : Reason.Acknowledged,
      message: unknown
        ? `UCloud/Core does not know this job: ${pending} update(s) will not be sent`
        : pending
          ? `${pending} update(s) not yet acknowledged by UCloud/Core`
          : 'UCloud/Core has every update',
      observedGeneration: generation,
    },
    now,
  );
  if (unknown) {
    conditions = setCondition(
      conditions,
      {
        type: ConditionType.KnownToCore,
        status: 'False',
        reason: Reason.UnknownToCore,
        message: `UCloud/Core refused ${unknown.call} for this job and has no such job (${unknown.why}); its pods are stopped and nothing more is reported or charged`,
        observedGeneration: generation,
      },
      now,
    );
  }
  return conditions;
}

/** Provider-side faults that will not resolve by waiting: image pulls and unschedulable pods. */
function stuckReason(pods: readonly V1Pod[], t: number, config: OperatorConfig): string | undefined {
  for (const pod of pods) {
    const rank = podRank(pod);
    const age = t - (toTime(pod.metadata?.creationTimestamp) ?? t);
    const waiting = userContainerState(pod)?.waiting;
    if (waiting && /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason ?? '') && age >= config.jobs.imagePullGraceSeconds * 1000) {
      return `The image of rank ${rank} could not be pulled (${waiting.reason}): ${waiting.message ?? ''}`.trim();
    }
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (sched?.status === 'False' && sched.reason === 'Unschedulable' && age >= config.jobs.unschedulableGraceSeconds * 1000) {
      return `Rank ${rank} could not be scheduled within ${config.jobs.unschedulableGraceSeconds}s: ${sched.message ?? 'no node fits'}`;
    }
  }
  return undefined;
}

function stuckCheckIn(pods: readonly V1Pod[], t: number, config: OperatorConfig): number | undefined {
  const grace = Math.min(config.jobs.imagePullGraceSeconds, config.jobs.unschedulableGraceSeconds) * 1000;
  const created = pods.map((p) => toTime(p.metadata?.creationTimestamp) ?? t);
  return Math.max(0, Math.min(...created) + grace - t);
}

/** Status equality regardless of key order; cheap because statuses are small. Without it every
 *  reconcile of an unchanged job would rewrite its status (conditions are built in another order). */
export function sameStatus(a: UCloudJobStatus, b: UCloudJobStatus): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** `runsUntil` (the EXPIRES column) shows the deadline of a job that can still expire, nothing after. */
function showDeadline(status: UCloudJobStatus): void {
  if (!isFinal(status.state) && status.expiresAt) status.runsUntil = status.expiresAt;
  else delete status.runsUntil;
}
