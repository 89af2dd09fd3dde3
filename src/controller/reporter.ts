// Delivers each UCloudJob's outbox (status.outbox: updates the reconciler decided) to UCloud/Core
// through JobsControl.update, batched across jobs, and records the acknowledgement in the CR.
// A controller of its own (docs/adr/0028): the UCloudJob informer feeds a keyed queue with the
// jobs that owe Core something (unacknowledged entries, or a Reported condition that disagrees);
// one call is in flight at a time, and the window before the next widens with the arrival rate
// (batch-window.ts). The reporter owns status.outbox.acknowledgedSeq and the Reported condition.
// Delivery is at-least-once: a crash between Core's answer and the acknowledgement patch resends
// the same updates, which Core treats as no-ops (expectedState, ADR 0009). Nothing is ever lost:
// the outbox is in etcd, and a periodic sweep (a safety net) finds whatever the feed missed.
import { unacknowledged, type Condition, type UCloudJob, type OutboxEntry, type UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import type { ChangeKind } from '../k8s/informer.js';
import type { JsonPatchOp, KubePort } from '../k8s/kube-port.js';
import { toKubeError } from '../k8s/errors.js';
import { RequestSlots } from '../k8s/request-slots.js';
import type { WritePriority } from '../k8s/write-priority.js';
import { ReadYourWrites } from '../k8s/read-your-writes.js';
import { WorkQueue } from '../k8s/workqueue.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics, OutboxBacklog } from '../observability/metrics.js';
import type { JobsControlPort, RejectedJob } from '../ucloud/control-client.js';
import type { JobUpdate } from '../ucloud/control-api.js';
import type { JobState } from '../ucloud/job.js';
import { markUnknownToCore } from './unknown-to-core.js';
import { JobEventRecorder } from './job-events.js';
import { ConditionType, Reason, getCondition, setCondition } from './conditions.js';
import { batchDelay } from './batch-window.js';
import { keyOf, splitKey } from '../k8s/object-key.js';

export interface ReporterDeps {
  kube: KubePort;
  control: JobsControlPort;
  /** Latest cached UCloudJob (raw) by namespace/name. */
  getJob: (namespace: string, name: string) => UCloudJob | undefined;
  /** Every cached UCloudJob, for the sweep. */
  listJobs: () => readonly UCloudJob[];
  logger: Logger;
  metrics?: OperatorMetrics;
  /** The window for a change that comes alone. */
  batchWindowMs: number;
  /** The latency budget the window may widen to while changes come faster (reporting.maxBatchDelayMs). */
  maxBatchDelayMs?: number;
  maxItemsPerCall: number;
  sweepIntervalMs?: number;
  /** Acknowledgements give way to the reconciler's state writes (write-priority.ts). */
  priority?: WritePriority;
}

/**
 * Changes one call should carry before it goes out at once, before the budget ends. ≤ 20 calls per
 * 1,000 changes needs ≥ 50 a call; aiming at twice that keeps a stream that comes in clumps (kwok's
 * and the kubelets' status updates do) from closing windows at the first clump that reaches it.
 */
const TARGET_PER_CALL = 100;
/** Acknowledgement patches in flight at once: the reconcile workers keep the rest of the pool. */
const ACK_PATCHES_IN_FLIGHT = 8;
/** The queue key that stands for verify's list of jobs this cluster does not know. */
const VERIFY_KEY = '\u0000verify';

/** What this process acknowledged that the cache may not show yet. */
interface Ack {
  seq: number;
  /** The conditions as the acknowledgement left them (the next one patches by index). */
  conditions?: Condition[];
}

/**
 * The Reported condition for a job's outbox: True once UCloud/Core has every update, False with
 * how many wait (and, when a call failed, why), False UnknownToCore for a job Core has no record of.
 */
export function reportedCondition(
  status: UCloudJobStatus | undefined,
  acked: number,
  generation?: number,
  failure?: string,
): Omit<Condition, 'lastTransitionTime'> {
  const pending = unacknowledged(status, acked).length;
  const unknown = status?.unknownToCore;
  const base = { type: ConditionType.Reported, status: pending || unknown ? ('False' as const) : ('True' as const), observedGeneration: generation };
  if (unknown) return { ...base, reason: Reason.UnknownToCore, message: `UCloud/Core does not know this job: ${pending} update(s) will not be sent` };
  if (!pending) return { ...base, reason: Reason.Acknowledged, message: 'UCloud/Core has every update' };
  const why = failure ? `; UCloud/Core did not take them yet (${failure.slice(0, 200)})` : '';
  return { ...base, reason: Reason.UpdatesPending, message: `${pending} update(s) not yet acknowledged by UCloud/Core${why}` };
}

/**
 * JSON-patch operations that set the Reported condition in `conditions` (as the patch will find
 * them) without replacing the list the reconciler writes too; none when it already says `next`
 * or the job has no conditions yet (its first reconcile writes them).
 */
export function reportedOps(conditions: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): JsonPatchOp[] {
  if (!conditions) return [];
  const i = conditions.findIndex((c) => c.type === ConditionType.Reported);
  const prev = conditions[i];
  if (prev && prev.status === next.status && prev.reason === next.reason && prev.message === next.message) return [];
  const value = getCondition(setCondition(conditions, next, now), ConditionType.Reported);
  if (i < 0) return [{ op: 'add', path: '/status/conditions/-', value }];
  return [
    { op: 'test', path: `/status/conditions/${i}/type`, value: ConditionType.Reported },
    { op: 'replace', path: `/status/conditions/${i}`, value },
  ];
}

interface Item {
  key: string;
  namespace: string;
  name: string;
  jobId: string;
  entry: OutboxEntry;
  /** The job's state before this entry, when the outbox tells it. */
  leaving?: JobState;
}

/** The state each entry leaves, from the job's own sequence (IN_QUEUE before the first entry). */
function statesLeft(status: UCloudJobStatus | undefined): Map<number, JobState> {
  const out = new Map<number, JobState>();
  const entries = status?.outbox?.entries ?? [];
  // Acknowledged entries are pruned to the last few: before the first kept one the state is known
  // only if the sequence starts at 1.
  let current: JobState | undefined = entries[0]?.seq === 1 ? 'IN_QUEUE' : undefined;
  for (const e of entries) {
    if (!e.state) continue;
    if (current !== undefined) out.set(e.seq, current);
    current = e.state;
  }
  return out;
}

/**
 * The JobUpdate for an outbox entry. A state change carries `expectedState`, the state it leaves
 * (ADR 0009): delivery is at-least-once, and a resend after a crash (RUNNING, SUCCESS once more)
 * must not walk UCloud/Core's timeline back. Core applies the update only from that state.
 */
export function toJobUpdate(e: OutboxEntry, leaving?: JobState): JobUpdate {
  const u: JobUpdate = {};
  if (e.state !== undefined) {
    u.state = e.state;
    if (leaving !== undefined) u.expectedState = leaving;
  }
  if (e.status !== undefined) u.status = e.status;
  if (e.newTimeAllocation !== undefined) u.newTimeAllocation = e.newTimeAllocation;
  if (e.outputFolder !== undefined) u.outputFolder = e.outputFolder;
  return u;
}

export class Reporter {
  private queue: WorkQueue;
  /** Acknowledgements (and the conditions they left) the cache may not show yet. */
  private readonly acks = new ReadYourWrites<UCloudJob, Ack>((cached, a) => (cached.status?.outbox?.acknowledgedSeq ?? 0) >= a.seq);
  /** unknownToCore marks this process wrote, until the cache shows them. */
  private readonly marks = new ReadYourWrites<UCloudJob, true>((cached) => cached.status?.unknownToCore !== undefined);
  /** When each queued job was first seen owing Core something (the window's latency budget). */
  private readonly firstSeen = new Map<string, number>();
  /** Per job, the highest outbox entry in the call in flight: not owed again unless a newer one comes. */
  private readonly sending = new Map<string, number>();
  /** Arrival times within the last second (the window's arrival rate). */
  private arrivals: number[] = [];
  private wake?: () => void;
  private loop?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private retryDelayMs = 500;
  private stopped = true;
  private readonly unknownJobs = new Set<string>();
  private readonly acking = new Set<Promise<void>>();
  /** Per job, the acknowledgement or condition patch in flight: they go out in order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Acknowledgement and condition patches in flight across jobs (request-slots.ts). */
  private readonly patchSlots: RequestSlots;
  /** Calls to JobsControl.update this process made (bench and tests read it). */
  updateCalls = 0;

  private readonly events: JobEventRecorder;

  constructor(private readonly deps: ReporterDeps) {
    this.events = new JobEventRecorder(deps.kube, deps.logger, undefined, undefined, deps.priority);
    this.patchSlots = new RequestSlots(ACK_PATCHES_IN_FLIGHT, deps.priority);
    this.queue = new WorkQueue('reporter', undefined, this.deps.metrics);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.queue = new WorkQueue('reporter', undefined, this.deps.metrics);
    this.loop = this.run();
    this.sweep();
  }

  /** The informer's feed: queues a job that owes Core an update or its Reported condition. */
  observe(job: UCloudJob, kind: ChangeKind): void {
    const key = keyOf(job);
    if (kind === 'delete') {
      this.acks.forget(key);
      this.marks.forget(key);
      return;
    }
    if (this.owes(key, job)) this.enqueue(key, true);
  }

  private owes(key: string, job: UCloudJob): boolean {
    const s = job.status;
    if (this.marks.pending(key, job)) return false; // marked just now; its condition is written with the mark
    if (s?.unknownToCore) return getCondition(s.conditions, ConditionType.Reported)?.reason !== Reason.UnknownToCore && !!s.conditions;
    // An event for a job whose entries are on their way to Core (the reconciler's next write, a
    // pod's readiness) owes nothing new: queued again, it would count as an arrival and fill the
    // next window with keys that carry no change.
    return unacknowledged(s, Math.max(this.acks.pending(key, job)?.seq ?? 0, this.sending.get(key) ?? 0)).length > 0;
  }

  private enqueue(key: string, arrival: boolean): void {
    if (this.stopped) return;
    const now = Date.now();
    // The rate counts jobs that start to wait, not events: a waiting job's further events add nothing to a call.
    if (!this.firstSeen.has(key)) {
      this.firstSeen.set(key, now);
      if (arrival) this.arrivals.push(now);
    }
    this.queue.add(key);
    this.wake?.();
  }

  /**
   * Updates UCloud/Core has not acknowledged, over every cached job, and when the oldest was
   * decided (the backlog gauges; computed per scrape from the cache, so it cannot drift).
   */
  backlog(): OutboxBacklog {
    let updates = 0;
    let oldestAt: number | undefined;
    for (const job of this.deps.listJobs()) {
      // A job Core has no record of owes Core nothing: its updates are never sent (ADR 0015).
      if (job.status?.unknownToCore) continue;
      const pending = unacknowledged(job.status, this.acks.pending(keyOf(job), job)?.seq ?? 0);
      if (!pending.length) continue;
      updates += pending.length;
      const at = Date.parse(pending[0]!.at);
      if (Number.isFinite(at) && (oldestAt === undefined || at < oldestAt)) oldestAt = at;
    }
    return { updates, oldestAt };
  }

  /** verify: jobs UCloud/Core knows and this cluster does not are reported as FAILURE. */
  reportUnknown(jobIds: readonly string[]): void {
    for (const id of jobIds) this.unknownJobs.add(id);
    // Any replica may be asked to verify; one that does not report (a standby) sends these itself.
    if (this.stopped) void this.sendUnknown().catch((e: unknown) => this.deps.logger.warn('Reporting unknown jobs to UCloud/Core failed', { err: e }));
    else this.enqueue(VERIFY_KEY, false);
  }

  /** Sends what is queued now and waits for it and the acknowledgements (graceful shutdown). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    this.queue.shutDown();
    this.wake?.();
    await this.loop;
    await Promise.all([...this.acking]);
  }

  /** The safety net: whatever the feed missed (a lost event, a failed acknowledgement) is queued again. */
  private sweep(): void {
    this.acks.retain((key) => this.getByKey(key) !== undefined);
    this.marks.retain((key) => this.getByKey(key) !== undefined);
    for (const job of this.deps.listJobs()) {
      const key = keyOf(job);
      if (this.owes(key, job)) this.enqueue(key, false);
    }
    const every = this.deps.sweepIntervalMs ?? 5000;
    if (!this.stopped && every > 0) {
      this.sweepTimer = setTimeout(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
  }

  private getByKey(key: string): UCloudJob | undefined {
    const { namespace, name } = splitKey(key);
    return this.deps.getJob(namespace, name);
  }

  /** One batch at a time: the first key opens a window, everything queued by its end goes in one call. */
  private async run(): Promise<void> {
    for (;;) {
      const first = await this.queue.get();
      if (first === undefined) return;
      const keys = [first];
      await this.window(first);
      while (this.queue.length && keys.length < this.deps.maxItemsPerCall) {
        const k = await this.queue.get();
        if (k !== undefined) keys.push(k);
      }
      try {
        await this.flush(keys);
      } catch (e) {
        this.deps.logger.error('Reporting to UCloud/Core failed', { err: e });
        for (const k of keys) this.queue.addAfter(k, this.retryDelayMs);
      } finally {
        for (const k of keys) this.queue.done(k);
      }
    }
  }

  /** Waits as batchDelay says, looking again whenever a change arrives; at once when stopping. */
  private async window(first: string): Promise<void> {
    // A key queued again while its batch was in flight (the queue's dirty re-add) has no
    // first-seen time: its wait counts from now, so the budget still closes the window.
    if (!this.firstSeen.has(first)) this.firstSeen.set(first, Date.now());
    for (;;) {
      if (this.stopped) return;
      const now = Date.now();
      while (this.arrivals.length && this.arrivals[0]! < now - 1000) this.arrivals.shift();
      const delay = batchDelay({
        backlog: 1 + this.queue.length,
        arrivalsPerSec: this.arrivals.length,
        oldestWaitMs: now - (this.firstSeen.get(first) ?? now),
        baseMs: this.deps.batchWindowMs,
        maxDelayMs: Math.max(this.deps.maxBatchDelayMs ?? this.deps.batchWindowMs, this.deps.batchWindowMs),
        targetPerCall: Math.min(TARGET_PER_CALL, this.deps.maxItemsPerCall),
      });
      if (delay <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  private collect(keys: readonly string[]): Item[] {
    const items: Item[] = [];
    for (const key of keys) {
      const job = this.getByKey(key);
      if (!job) continue;
      const { namespace, name } = splitKey(key);
      if (this.marks.pending(key, job)) continue;
      // Core has no such job: nothing sent for it could succeed (status.unknownToCore); only the
      // Reported condition says so.
      if (job.status?.unknownToCore) {
        this.writeReported(key, job);
        continue;
      }
      const left = statesLeft(job.status);
      for (const entry of unacknowledged(job.status, this.acks.pending(key, job)?.seq ?? 0)) {
        const leaving = left.get(entry.seq);
        items.push({ key, namespace, name, jobId: job.spec.jobId, entry, ...(leaving ? { leaving } : {}) });
      }
    }
    return items;
  }

  private async flush(keys: readonly string[]): Promise<void> {
    if (keys.includes(VERIFY_KEY)) await this.sendUnknown();
    const items = this.collect(keys);
    for (const k of keys) this.firstSeen.delete(k);
    for (const it of items) this.sending.set(it.key, Math.max(this.sending.get(it.key) ?? 0, it.entry.seq));
    try {
      await this.sendAll(items);
    } finally {
      this.sending.clear();
    }
  }

  /** The collected items in calls of at most maxItemsPerCall; on a failure the rest is queued again. */
  private async sendAll(items: readonly Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += this.deps.maxItemsPerCall) {
      const chunk = items.slice(i, i + this.deps.maxItemsPerCall);
      try {
        await this.send(chunk);
        this.retryDelayMs = 500;
      } catch (e) {
        const rest = items.slice(i);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
        this.deps.logger.warn('UCloud/Core did not take job updates; will retry', { items: rest.length, retryInMs: this.retryDelayMs, err: e });
        for (const key of new Set(rest.map((it) => it.key))) {
          this.queue.addAfter(key, this.retryDelayMs);
          const job = this.getByKey(key);
          if (job) this.writeReported(key, job, e instanceof Error ? e.message : String(e));
        }
        return;
      }
    }
  }

  private async sendUnknown(): Promise<void> {
    const unknown = [...this.unknownJobs];
    if (!unknown.length) return;
    // A job Core cannot find for this either is dropped from the verify list with the rest:
    // it is not ours to report on then.
    this.updateCalls++;
    await this.deps.control.deliverUpdates(unknown.map((id) => ({ id, update: { state: 'FAILURE', status: 'UCloud/Compute lost track of this job' } })));
    for (const id of unknown) this.unknownJobs.delete(id);
  }

  /**
   * Sends one chunk. The client isolates the jobs Core refuses (docs/adr/0015); the others' updates
   * are acknowledged. A refused job's updates: Core has no such job → marked unknownToCore (the
   * reconciler stops it; not acknowledged, never sent again); Core knows it and still refuses →
   * dropped with an UpdateRejected Event (resending cannot help); Core could not be asked → kept.
   */
  private async send(chunk: Item[]): Promise<void> {
    this.updateCalls++;
    const outcome = await this.deps.control.deliverUpdates(chunk.map((it) => ({ id: it.jobId, update: toJobUpdate(it.entry, it.leaving) })));
    const refused = new Map<string, RejectedJob>(outcome.rejected.map((r) => [r.id, r]));
    const done = chunk.filter((it) => refused.get(it.jobId)?.verdict !== 'unknown_job' && refused.get(it.jobId)?.verdict !== 'undetermined');
    for (const r of refused.values()) {
      const its = chunk.filter((it) => it.jobId === r.id);
      const first = its[0];
      if (!first) continue;
      if (r.verdict === 'undetermined') this.queue.addAfter(first.key, this.retryDelayMs);
      else if (r.verdict === 'unknown_job') await this.markUnknown(first, r);
      else {
        this.deps.logger.warn('UCloud/Core rejected job updates; dropping them', { jobId: r.id, seqs: its.map((it) => it.entry.seq), why: r.error.why });
        await this.events.record(
          { namespace: first.namespace, name: first.name },
          'Warning',
          'UpdateRejected',
          'Report',
          `UCloud/Core rejected update(s) ${its.map((it) => it.entry.seq).join(', ')}: ${r.error.why}`,
        );
      }
    }
    if (!done.length) return;
    this.acknowledge(done);
  }

  private async markUnknown(it: Item, r: RejectedJob): Promise<void> {
    const job = this.getByKey(it.key);
    if (!job || job.spec.jobId !== r.id) return;
    if (await markUnknownToCore(this.deps.kube, this.deps.logger, job, { call: 'update', why: r.error.why }, new Date())) {
      this.marks.wrote(it.key, undefined, true, job.metadata.uid);
      this.writeReported(it.key, { ...job, status: { ...job.status, unknownToCore: { at: new Date().toISOString(), call: 'update', why: r.error.why } } });
    } else this.queue.addAfter(it.key, this.retryDelayMs);
  }

  /**
   * Records the acknowledgements, with the Reported condition they make true, in one patch per
   * job. Not awaited by the batch loop: the next call must not queue behind a hundred status
   * patches (report latency). The read-your-writes copy is set at once, so nothing is resent
   * meanwhile; stop() waits for them.
   */
  private acknowledge(chunk: Item[]): void {
    const maxSeq = new Map<string, Item>();
    for (const it of chunk) {
      const prev = maxSeq.get(it.key);
      if (!prev || prev.entry.seq < it.entry.seq) maxSeq.set(it.key, it);
      if (it.entry.state) this.deps.metrics?.stateReports.inc({ state: it.entry.state });
    }
    for (const it of maxSeq.values()) {
      const job = this.getByKey(it.key);
      if (!job) continue;
      const seq = Math.max(this.acks.pending(it.key, job)?.seq ?? 0, it.entry.seq);
      this.acks.wrote(it.key, undefined, { seq, conditions: this.conditionsOf(it.key, job) }, job.metadata.uid);
      this.chain(it.key, () => this.patchReport(it.key, seq));
    }
  }

  /** The Reported condition alone (a failed call, a job unknown to Core); never rewritten unchanged. */
  private writeReported(key: string, job: UCloudJob, failure?: string): void {
    const next = reportedCondition(job.status, this.acks.pending(key, job)?.seq ?? 0, job.metadata.generation, failure);
    const prev = getCondition(this.conditionsOf(key, job), ConditionType.Reported);
    if (prev && prev.status === next.status && (failure || prev.reason === next.reason)) return;
    this.chain(key, () => this.patchReport(key));
  }

  private conditionsOf(key: string, job: UCloudJob): Condition[] | undefined {
    return this.acks.pending(key, job)?.conditions ?? job.status?.conditions;
  }

  private chain(key: string, fn: () => Promise<void>): void {
    const p = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.patchSlots.run(fn))
      .finally(() => {
        this.acking.delete(p);
        if (this.chains.get(key) === p) this.chains.delete(key);
      });
    this.chains.set(key, p);
    this.acking.add(p);
  }

  /**
   * One status patch: acknowledgedSeq (when `seq`) and the Reported condition as the job then
   * stands. The condition is patched by index with a test, so the reconciler's conditions are
   * never overwritten; if the list moved meanwhile, the patch is built again from a fresh read.
   */
  private async patchReport(key: string, seq?: number, attempt = 0): Promise<void> {
    const { namespace, name } = splitKey(key);
    const job = attempt ? await this.deps.kube.ucloudJobs.get(namespace, name).catch(() => undefined) : this.getByKey(key);
    if (!job) return;
    const acked = Math.max(seq ?? 0, attempt ? 0 : (this.acks.pending(key, job)?.seq ?? 0), job.status?.outbox?.acknowledgedSeq ?? 0);
    const conditions = attempt ? job.status?.conditions : this.conditionsOf(key, job);
    const ops: JsonPatchOp[] = reportedOps(conditions, reportedCondition(job.status, acked, job.metadata.generation), new Date());
    if (seq !== undefined && seq > (job.status?.outbox?.acknowledgedSeq ?? 0))
      ops.unshift({ op: 'replace', path: '/status/outbox/acknowledgedSeq', value: seq });
    if (!ops.length) return;
    try {
      const stored = await this.deps.kube.ucloudJobs.jsonPatchStatus(namespace, name, ops);
      if (seq !== undefined) this.acks.wrote(key, stored, { seq, conditions: stored.status?.conditions });
    } catch (e) {
      if (toKubeError(e).code === 422 && attempt === 0) return this.patchReport(key, seq, 1);
      // Gone: nothing left to acknowledge. Otherwise the sweep resends and acknowledges again.
      if (seq !== undefined) this.acks.forget(key);
      this.deps.logger.warn('Could not record acknowledgement', { job: key, seq, err: e });
    }
  }
}
