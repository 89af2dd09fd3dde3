// The reconciler's decisions as a pure function: given a UCloudJob, the pods that exist for it and
// the time, what should its status be, which ranks' pods must be created, whether everything
// must be torn down, and when to look again. No I/O here, so every rule is table-testable and the
// reconciler stays a thin loop of "plan, persist status, act".
import type { V1Pod } from '@kubernetes/client-node';
import { isFinal, unacknowledged, type OutboxEntry, type UCloudJob, type UCloudJobState, type UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import { jobIdLabelValue } from '../api/v1alpha1/names.js';
import type { OperatorConfig } from '../config.js';
import { ConditionType, Reason, setCondition } from './conditions.js';
import { mapPods, type MappedPods } from './state-mapping.js';
import { canonicalJson } from './canonical-json.js';
import type { GangBackend } from './gang-backend.js';
import { waitingText } from './wait-queue.js';
import { sshAddressOf, sshStatusText } from './desired/ssh-address.js';
import { containerFinishedAt, containerStartedAt, createdAt, podRank, scheduledAt, toTime, unschedulable } from './pod-facts.js';
import { stuckCheckIn, stuckReason } from './stuck.js';

export interface PlanInput {
  job: UCloudJob;
  pods: readonly V1Pod[];
  now: Date;
  config: OperatorConfig;
  /** When each rank's pod was first seen missing after the job had started (in memory). */
  firstMissingAt?: ReadonlyMap<number, number>;
  /** Gang admission and the wait queue (docs/adr/0025); absent = backend none. */
  gang?: GangInput;
  /** A started job's admission was taken back (Kueue evicted its Workload, docs/adr/0025): it ends then, charged up to then. Only for started jobs. */
  preempted?: { message: string; at: number };
}

export interface GangInput {
  backend: GangBackend;
  /** An earlier job of the category waits: create nothing yet (wait-queue.ts). */
  held: boolean;
  /** Waiting jobs of the category that came before this one. */
  ahead: number;
  /** The job is in the wait queue (so its text is the queue's even before the scheduler tried it). */
  queued: boolean;
  /** The status text while it waits, when the backend words it (Kueue's reason), instead of the queue's. */
  waitingText?: string;
  /**
   * Why the job can never be placed on this cluster (a product larger than any node), if it
   * cannot: waiting would be forever, so it fails. The hook for product sizing (ADR 0023; not wired yet);
   * the adapter refusing such a job at create is the first line, this catches jobs already stored.
   */
  neverFits?: string;
}

/** Where a job that has not started stands with the scheduler (gang backends only). */
export interface Placement {
  /** Every rank's pod exists and has a node. */
  placed: boolean;
  /** The scheduler found no room for the job (a pod is PodScheduled=False, Unschedulable). */
  blocked: boolean;
  /** The job is waiting for room: held, blocked or queued, and not placed; its status says so. */
  waiting: boolean;
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
  /** With a gang backend, for a job that has not started: see Placement. */
  placement?: Placement;
  /**
   * Ask UCloud/Core whether the job's owner can pay for one period before any of its pods exists
   * (accounting.checkCreditsBeforeStart): the plan decides when, the reconciler asks, and a "no"
   * is planned again as insufficientFunds. Never for a job with pods, or one already judged.
   */
  checkCreditsFirst: boolean;
}

/** The message of a job stopped because UCloud/Core has no such job (status.unknownToCore). */
export const UNKNOWN_TO_CORE_MESSAGE = 'UCloud/Core does not know this job (it may have given up on its creation); stopped';

/** Outbox entries beyond this many acknowledged ones are dropped when status is rewritten. */
const KEEP_ACKNOWLEDGED = 3;

const ms = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);
const iso = (t: number): string => new Date(t).toISOString();

/** All ranks have a node; with when the last got it (the pods' creation if the scheduler did not say). */
function placementOf(pods: readonly V1Pod[], replicas: number): { placed: boolean; at?: number; blocked: boolean } {
  const blocked = pods.some((p) => unschedulable(p) !== undefined);
  if (pods.length !== replicas || !pods.every((p) => p.spec?.nodeName)) return { placed: false, blocked };
  const times = pods.map((p) => scheduledAt(p) ?? createdAt(p));
  return { placed: true, blocked: false, ...(times.every((x) => x !== undefined) ? { at: Math.max(...(times as number[])) } : {}) };
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

/**
 * With a gang backend, waiting for room is not a failure: the gang timeout counts from the moment
 * the whole gang had its nodes (`gangSince`, undefined until then), and an unschedulable rank is the
 * queue's business. Without one (or backend none) the timeout counts from the job's creation.
 */
function gangFacts(input: GangInput | undefined, livePods: readonly V1Pod[], replicas: number, createdAt: number, t: number) {
  const gang = input && input.backend !== 'none' ? input : undefined;
  const where = placementOf(livePods, replicas);
  const gangSince = gang ? (where.placed ? (where.at ?? t) : undefined) : createdAt;
  return { gang, where, gangSince };
}

/** Waiting for room: the queue's text, to UCloud/Core too, but only when it changes. Returns whether the job waits. */
function showWaiting(
  status: UCloudJobStatus,
  gang: GangInput | undefined,
  where: { placed: boolean; blocked: boolean },
  spec: UCloudJob['spec'],
  at: string,
): boolean {
  if (!gang || isFinal(status.state) || where.placed || !(gang.held || gang.queued || where.blocked)) return false;
  const text = gang.waitingText ?? waitingText(spec.replicas, spec.product.id, gang.ahead);
  status.message = text;
  sayWaiting(status, text, at);
  return true;
}

/** What the not-started rules look at. */
interface NotStarted {
  gang?: GangInput;
  gangSince?: number;
  livePods: readonly V1Pod[];
  mapped: { runningRanks: number; message: string };
  replicas: number;
}

/** A job that has not started fails if it never fits, ran out of gang time, or is stuck. */
function notStartedEnding(job: NotStarted, t: number, config: OperatorConfig): Ending | undefined {
  const why = notStartedFailure(job, t, config);
  return why ? { state: 'FAILURE', reason: Reason.Failed, message: why, at: t } : undefined;
}

/** Why a job that has not started has failed, if it has: never fits, the gang timeout, or stuck. */
function notStartedFailure(job: NotStarted, t: number, config: OperatorConfig): string | undefined {
  const { gang, gangSince, livePods, mapped, replicas } = job;
  if (gang?.neverFits) return gang.neverFits;
  const timeout = config.jobs.gangTimeoutSeconds;
  if (gangSince !== undefined && t - gangSince >= timeout * 1000) {
    return `Not all ranks were running within ${timeout}s${gang ? ' of being placed' : ''} (${mapped.runningRanks}/${replicas} running): ${mapped.message}`;
  }
  return stuckReason(livePods, t, config, !gang);
}

/** Held behind earlier waiting jobs (wait-queue.ts): create nothing yet. A job with pods is past that. */
const isHeld = (gang: GangInput | undefined, livePods: readonly V1Pod[]): boolean => gang?.held === true && !livePods.length;

function placementOfPlan(
  gang: GangInput | undefined,
  done: boolean,
  where: { placed: boolean; blocked: boolean },
  waiting: boolean,
): { placement?: Placement } {
  return gang && !done ? { placement: { placed: where.placed, blocked: where.blocked, waiting } } : {};
}

/**
 * A waiting job's text goes to UCloud/Core as a status-only update, once per change: nothing when
 * the last update already said it, and an unacknowledged status-only update is rewritten instead of
 * followed by another, so a Core outage during a long wait cannot fill the outbox.
 */
function sayWaiting(status: UCloudJobStatus, text: string, at: string): void {
  const entries = status.outbox?.entries ?? [];
  const lastSaid = [...entries].reverse().find((e) => e.status !== undefined);
  if (lastSaid?.status === text) return;
  const last = entries[entries.length - 1];
  const acked = status.outbox?.acknowledgedSeq ?? 0;
  if (last && last.seq > acked && last.state === undefined && last.newTimeAllocation === undefined && last.outputFolder === undefined) {
    // A new seq, not the old one: if the old text is being sent right now, its acknowledgement
    // must not count for this one.
    status.outbox = { acknowledgedSeq: acked, entries: [...entries.slice(0, -1), { seq: nextSeq(status), at, status: text }] };
    return;
  }
  appendOutbox(status, { at, status: text });
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
  const byRank = livePodsByRank(job.spec.replicas, pods);
  if (byRank.size !== job.spec.replicas) return undefined;
  const mapped = mapPodsFor(job, [...byRank.values()], config, now);
  return mapped.finished ? endOfRanks(mapped, byRank, config, now.getTime()) : undefined;
}

const mapPodsFor = (job: UCloudJob, pods: readonly V1Pod[], config: OperatorConfig, now: Date) =>
  mapPods({ replicas: job.spec.replicas, pods, failureRule: config.jobs.failureRule, rankEndRule: config.jobs.rankEndRule, now });

/**
 * When the ranks ended the job: under `all` the last rank's end, under `first` the first ended
 * rank's (the others are stopped then; ADR 0021). A pod without an end time ended now.
 */
function endOfRanks(mapped: MappedPods, byRank: ReadonlyMap<number, V1Pod>, config: OperatorConfig, t: number): number {
  const ended = mapped.perRank.filter((r) => r.phase === 'Succeeded' || r.phase === 'Failed');
  const ends = ended.map((r) => {
    const pod = byRank.get(r.rank);
    return (pod && containerFinishedAt(pod)) ?? t;
  });
  if (!ends.length) return t;
  return config.jobs.rankEndRule === 'first' ? Math.min(...ends) : Math.max(...ends);
}

/**
 * The plan for one look at a job, as a sequence of decisions: when it started, whether and why it
 * ends, which ranks vanished, whether it now runs, whether it waits for room, and when to look again.
 * A final job only keeps its record and has everything below it torn down.
 */
export function planJob(input: PlanInput): Plan {
  const prev = input.job.status ?? {};
  const status: UCloudJobStatus = structuredClone(prev);
  status.state = prev.state ?? 'IN_QUEUE';
  status.observedGeneration = input.job.metadata.generation;
  return isFinal(status.state) ? planEnded(input, prev, status) : planLive(input, prev, status);
}

/** What one pass has decided so far: the status it builds, the transitions it made, and why the job ended in it. */
interface Pass {
  status: UCloudJobStatus;
  transitions: Transition[];
  /** Reported with RUNNING: from then on the job's files are in its /work folder. */
  output: { outputFolder?: string };
  t: number;
  /** Why the job ended in this pass, as the Finished condition's reason: decided with the ending, never read back from the message text. */
  endedBecause?: FinishedReason;
}

function planLive(input: PlanInput, prev: UCloudJobStatus, status: UCloudJobStatus): Plan {
  const { job, now, config } = input;
  const { spec } = job;
  const t = now.getTime();
  const folder = outputFolderOf(job, config);
  const pass: Pass = { status, transitions: [], output: folder ? { outputFolder: folder } : {}, t };

  const podsByRank = livePodsByRank(spec.replicas, input.pods);
  const livePods = [...podsByRank.values()];
  const mapped = mapPodsFor(job, livePods, config, now);
  status.readyReplicas = mapped.runningRanks;
  status.ranks = `${mapped.runningRanks}/${spec.replicas}`;

  const { allStarted, startedAt, expiresAt } = decideStart(status, spec, mapped, livePods, t);
  const { gang, where, gangSince } = gangFacts(input.gang, livePods, spec.replicas, toTime(job.metadata.creationTimestamp) ?? t, t);

  const ending =
    decideEnding({ spec, prev, mapped, podsByRank, expiresAt, preempted: input.preempted }, config, t) ??
    (startedAt === undefined ? notStartedEnding({ gang, gangSince, livePods, mapped, replicas: spec.replicas }, t, config) : undefined);
  if (ending) finish(pass, ending);
  const missingRanks = isFinal(status.state) || startedAt === undefined ? [] : absentRanks(spec.replicas, podsByRank);
  const vanished = decideVanished(missingRanks, input.firstMissingAt, config, t);
  if (vanished) finish(pass, vanished);
  decideRunning(pass, job, config, allStarted, mapped.message);
  const waiting = startedAt === undefined && showWaiting(status, gang, where, spec, iso(t));
  reportAllocation(status, spec, prev, t);

  showDeadline(status);
  status.conditions = runningConditions(status, mapped.message, job.metadata.generation, now, pass.endedBecause);
  pruneOutbox(status);

  const final = isFinal(status.state);
  const held = isHeld(gang, livePods);
  const createRanks = final || startedAt !== undefined || held ? [] : absentRanks(spec.replicas, podsByRank);
  return {
    status,
    statusChanged: !sameStatus(prev, status),
    transitions: pass.transitions,
    createRanks,
    ensureSupporting: !final && !held,
    teardown: final,
    requeueAfterMs: final ? undefined : nextLook({ expiresAt, startedAt, gangSince, missingRanks, livePods, gang }, config, t),
    missingRanks: final ? [] : missingRanks,
    ...placementOfPlan(gang, final || startedAt !== undefined, where, waiting),
    checkCreditsFirst: !final && startedAt === undefined && createRanks.length === spec.replicas && checksCreditsFirst(prev, config),
  };
}

/** Final: nothing runs any more; keep the record and make sure everything below it is gone. */
function planEnded(input: PlanInput, prev: UCloudJobStatus, status: UCloudJobStatus): Plan {
  showDeadline(status);
  status.conditions = runningConditions(status, status.message ?? '', input.job.metadata.generation, input.now);
  pruneOutbox(status);
  return {
    status,
    statusChanged: !sameStatus(prev, status),
    transitions: [],
    createRanks: [],
    ensureSupporting: false,
    teardown: true,
    missingRanks: [],
    checkCreditsFirst: false,
  };
}

/** The site asks before start, and the job has not been judged unable to pay already. */
const checksCreditsFirst = (prev: UCloudJobStatus, config: OperatorConfig): boolean => config.accounting.checkCreditsBeforeStart && !prev.insufficientFunds;

/**
 * The start of the job: the moment the last rank started running (some may already have ended),
 * recorded once every rank's pod exists and has started; and the deadline that follows from it.
 */
function decideStart(
  status: UCloudJobStatus,
  spec: UCloudJob['spec'],
  mapped: MappedPods,
  livePods: readonly V1Pod[],
  t: number,
): { allStarted: boolean; startedAt?: number; expiresAt?: number } {
  const allStarted = mapped.perRank.every((r) => r.phase === 'Running' || r.phase === 'Succeeded' || r.phase === 'Failed');
  if (!status.startedAt && allStarted && livePods.length === spec.replicas) {
    const starts = livePods.map(containerStartedAt);
    const startedAt = starts.every((s) => s !== undefined) ? Math.max(...(starts as number[])) : t;
    status.startedAt = iso(Math.min(startedAt, t));
  }
  const startedAt = ms(status.startedAt);
  if (startedAt !== undefined && spec.timeAllocationMillis !== undefined) status.expiresAt = iso(startedAt + spec.timeAllocationMillis);
  return { allStarted, startedAt, expiresAt: ms(status.expiresAt) };
}

/** Ends the job in this pass (a job already final stays as it ended). */
function finish(pass: Pass, ending: Ending): void {
  const { status, transitions, t } = pass;
  if (isFinal(status.state)) return;
  pass.endedBecause = ending.reason;
  // A job that ran but whose RUNNING we never observed (it finished between two looks) still
  // gets RUNNING reported first, so UCloud's timeline and billing see that it ran.
  if (status.state === 'IN_QUEUE' && status.startedAt !== undefined) {
    transitions.push({ from: 'IN_QUEUE', to: 'RUNNING', message: 'The job is running' });
    appendOutbox(status, { at: status.startedAt, state: 'RUNNING', status: 'The job is running', ...pass.output });
  }
  transitions.push({ from: status.state ?? 'IN_QUEUE', to: ending.state, message: ending.message });
  status.state = ending.state;
  status.message = ending.message;
  status.finishedAt = iso(ending.at);
  appendOutbox(status, { at: iso(t), state: ending.state, status: ending.message });
}

/** The ranks in 0..replicas-1 that have no live pod. */
function absentRanks(replicas: number, podsByRank: ReadonlyMap<number, V1Pod>): number[] {
  const absent: number[] = [];
  for (let r = 0; r < replicas; r++) if (!podsByRank.has(r)) absent.push(r);
  return absent;
}

/** A running job fails once a rank's pod has been missing for jobs.vanishedPodGraceSeconds. */
function decideVanished(missingRanks: readonly number[], firstMissingAt: PlanInput['firstMissingAt'], config: OperatorConfig, t: number): Ending | undefined {
  const grace = config.jobs.vanishedPodGraceSeconds * 1000;
  const vanished = missingRanks.filter((r) => t - (firstMissingAt?.get(r) ?? t) >= grace);
  if (!vanished.length) return undefined;
  return { state: 'FAILURE', reason: Reason.Failed, message: `The pod of rank ${vanished.join(', ')} disappeared while the job was running`, at: t };
}

/**
 * IN_QUEUE → RUNNING once every rank has started, reported with the job's output folder and, once
 * it runs, where to reach it over SSH in IM2's words (ADR 0020, a status-only update). A job that
 * keeps its state shows the ranks' own message.
 */
function decideRunning(pass: Pass, job: UCloudJob, config: OperatorConfig, allStarted: boolean, ranksMessage: string): void {
  const { status, t } = pass;
  if (isFinal(status.state)) return;
  if (!allStarted || status.state !== 'IN_QUEUE') {
    status.message = ranksMessage;
    return;
  }
  const at = status.startedAt ?? iso(t);
  pass.transitions.push({ from: 'IN_QUEUE', to: 'RUNNING', message: 'The job is running' });
  status.state = 'RUNNING';
  status.message = 'The job is running';
  appendOutbox(status, { at, state: 'RUNNING', status: 'The job is running', ...pass.output });
  const ssh = sshAddressOf(job, config);
  if (ssh) appendOutbox(status, { at, status: sshStatusText(ssh) });
}

/** extend: the allocation changed since we last queued it for UCloud/Core; queue the new one. */
function reportAllocation(status: UCloudJobStatus, spec: UCloudJob['spec'], prev: UCloudJobStatus, t: number): void {
  const allocation = spec.timeAllocationMillis;
  if (allocation === undefined) return;
  const reported = prev.reportedTimeAllocationMillis;
  if (reported !== undefined && allocation !== reported && !isFinal(status.state)) appendOutbox(status, { at: iso(t), newTimeAllocation: allocation });
  status.reportedTimeAllocationMillis = allocation;
}

/** When to look again though nothing changes: the deadline, the gang timeout, a vanished pod's grace, a stuck pod's grace. */
function nextLook(
  job: {
    expiresAt?: number;
    startedAt?: number;
    gangSince?: number;
    missingRanks: readonly number[];
    livePods: readonly V1Pod[];
    gang?: GangInput;
  },
  config: OperatorConfig,
  t: number,
): number | undefined {
  const { expiresAt, startedAt, gangSince, missingRanks, livePods, gang } = job;
  const notStarted = startedAt === undefined;
  const expiryIn = expiresAt !== undefined ? expiresAt - t : undefined;
  const gangIn = notStarted && gangSince !== undefined ? gangSince + config.jobs.gangTimeoutSeconds * 1000 - t : undefined;
  const graceIn = missingRanks.length ? config.jobs.vanishedPodGraceSeconds * 1000 : undefined;
  const stuckIn = notStarted && livePods.length ? stuckCheckIn(livePods, t, config, !gang) : undefined;
  return minDefined(expiryIn, gangIn, graceIn, stuckIn);
}

/**
 * Every reason the job has ended by now, with the moment it ended. Usually there is one; after an
 * outage of the operator there may be several (the job expired, then its ranks exited, then the
 * user pressed stop), and the earliest is what happened: the job is reported and billed as a live
 * operator would have done. Equal moments keep this order.
 */
function decideEnding(
  job: {
    spec: UCloudJob['spec'];
    prev: UCloudJobStatus;
    mapped: MappedPods;
    podsByRank: ReadonlyMap<number, V1Pod>;
    expiresAt: number | undefined;
    preempted?: PlanInput['preempted'];
  },
  config: OperatorConfig,
  t: number,
): Ending | undefined {
  const { spec, prev, mapped, podsByRank, expiresAt, preempted } = job;
  const endings: Ending[] = [];
  if (mapped.finished && (mapped.state === 'SUCCESS' || mapped.state === 'FAILURE')) {
    const reason = mapped.state === 'SUCCESS' ? Reason.Succeeded : Reason.Failed;
    endings.push({ state: mapped.state, reason, message: mapped.message, at: endOfRanks(mapped, podsByRank, config, t) });
  } else if (mapped.state === 'FAILURE') {
    // A failed rank ends the whole job at once; the other ranks are stopped (now).
    endings.push({ state: 'FAILURE', reason: Reason.Failed, message: mapped.message, at: t });
  }
  if (expiresAt !== undefined && t >= expiresAt)
    endings.push({ state: 'EXPIRED', reason: Reason.Expired, message: 'Job exceeded its time allocation', at: expiresAt });
  if (spec.terminationRequestedAt) {
    const at = Math.min(ms(spec.terminationRequestedAt) ?? t, t);
    endings.push({ state: 'SUCCESS', reason: Reason.Terminated, message: 'Job was terminated by the user', at });
  }
  if (prev.insufficientFunds) endings.push({ state: 'SUCCESS', reason: Reason.NoCredits, message: 'terminated (no credits)', at: t });
  if (preempted)
    endings.push({ state: 'FAILURE', reason: Reason.Preempted, message: `Preempted by Kueue: ${preempted.message}`, at: Math.min(preempted.at, t) });
  if (prev.unknownToCore) {
    endings.push({ state: 'FAILURE', reason: Reason.UnknownToCore, message: UNKNOWN_TO_CORE_MESSAGE, at: Math.min(ms(prev.unknownToCore.at) ?? t, t) });
  }
  return endings.reduce<Ending | undefined>((a, b) => (a === undefined || b.at < a.at ? b : a), undefined);
}

/** One way a job can end: its state, why (the Finished reason), the message, and when. */
interface Ending {
  state: UCloudJobState;
  reason: FinishedReason;
  message: string;
  at: number;
}

type FinishedReason = (typeof Reason)[keyof typeof Reason];

/**
 * The Finished condition's reason: the ending's own when the job ends in this pass, else the one
 * recorded when it ended; the state's plain reason for a job that ended before reasons were kept.
 */
function finishedReasonOf(status: UCloudJobStatus, endedNow: FinishedReason | undefined): FinishedReason {
  const state = status.state ?? 'IN_QUEUE';
  if (!isFinal(state)) return Reason.InProgress;
  if (endedNow) return endedNow;
  const recorded = status.conditions?.find((c) => c.type === ConditionType.Finished && c.status === 'True')?.reason;
  if (recorded && recorded !== Reason.InProgress) return recorded as FinishedReason;
  return state === 'SUCCESS' ? Reason.Succeeded : state === 'EXPIRED' ? Reason.Expired : Reason.Failed;
}

function runningConditions(status: UCloudJobStatus, waiting: string, generation: number | undefined, now: Date, endedNow?: FinishedReason) {
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
  const finishedReason = finishedReasonOf(status, endedNow);
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
