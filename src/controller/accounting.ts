// Usage accounting: charges running jobs through JobsControl.chargeCredits.
//
// Charges cover fixed windows of the job's running time, aligned to status.startedAt: window k is
// [startedAt + k·W, startedAt + (k+1)·W) where W is a whole number of price periods (minutes
// for CREDITS_PER_MINUTE, ...). A window is charged once it is complete, or, for the last one,
// once the job has finished (rounded up to whole periods). Its chargeId is `<jobId>_<window start
// in epoch ms>`. Because a window's chargeId and periods depend only on persisted facts
// (startedAt, finishedAt, W), any resend after a crash or a lost answer is byte-identical, which is
// correct whether UCloud/Core overwrites by chargeId (core2, isDeltaCharge=false) or ignores a
// duplicate chargeId (Kotlin Core's duplicateCharges): nothing is charged twice and nothing is
// lost. The watermark (periods acknowledged) lives in status.accounting. docs/adr/0005.
// A controller of its own (docs/adr/0028): the UCloudJob informer queues every final job with a
// window still due (its last one), charged within a short batching window; running jobs' windows
// are charged by the periodic pass, which is also the safety net for anything the feed missed.
// core2 refuses a whole chargeCredits batch (400) when one job in it is unknown, after charging
// the items before it; the client splits such a batch, so one forgotten job does not leave every
// other job uncharged, and a job Core has no record of is marked unknownToCore (docs/adr/0015).
import { isFinal, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { JobsControlPort } from '../ucloud/control-client.js';
import type { ChangeKind } from '../k8s/informer.js';
import { ReadYourWrites } from '../k8s/read-your-writes.js';
import { WorkQueue } from '../k8s/workqueue.js';
import { markUnknownToCore } from './unknown-to-core.js';
import { markNoCredits } from './no-credits.js';
import { JobEventRecorder, jobRef } from './job-events.js';
import { keyOf } from '../k8s/object-key.js';
import type { WritePriority } from '../k8s/write-priority.js';

const MINUTE = 60_000;

/**
 * Length of one price period in ms; undefined for PER_UNIT (charged once, as one period).
 * `minuteMs` is the length of a minute: 60 s, except in tests and demos that run "minutes" in seconds.
 */
export function periodMillis(unitOfPrice: string, minuteMs = MINUTE): number | undefined {
  if (unitOfPrice.endsWith('_PER_MINUTE')) return minuteMs;
  if (unitOfPrice.endsWith('_PER_HOUR')) return 60 * minuteMs;
  if (unitOfPrice.endsWith('_PER_DAY')) return 24 * 60 * minuteMs;
  return undefined;
}

/**
 * The period a job's charges count: its product category's accountingFrequency when UCloud/Core
 * sent one (core2 multiplies periods by the price per that frequency: job.go, chargeCredits;
 * accounting/products.go, AccountingFrequency.ToMinutes), else the configured unitOfPrice. ONCE
 * is undefined: one period, charged once.
 */
export function chargePeriodMillis(product: UCloudJob['spec']['product'], minuteMs = MINUTE): number | undefined {
  switch (product.accountingFrequency) {
    case 'ONCE':
      return undefined;
    case 'PERIODIC_MINUTE':
      return minuteMs;
    case 'PERIODIC_HOUR':
      return 60 * minuteMs;
    case 'PERIODIC_DAY':
      return 24 * 60 * minuteMs;
    default:
      return periodMillis(product.unitOfPrice, minuteMs);
  }
}

export interface ChargeWindow {
  id: string;
  chargeId: string;
  units: number;
  periods: number;
  /** Periods charged in total once this window is acknowledged. */
  chargedPeriodsAfter: number;
}

/** Window size in periods: the accounting interval rounded down to whole periods, at least one. */
export function windowPeriods(intervalMs: number, periodMs: number): number {
  return Math.max(1, Math.floor(intervalMs / periodMs));
}

/**
 * The latest moment a job that is not final yet can have run until: now, but never past a
 * deadline already decided (its expiry, a termination request). The reconciler will end the job
 * there; charging beyond it, e.g. in a pass that runs before the reconciler has caught up after a
 * restart, would bill time the job never had.
 */
function runningUntil(job: UCloudJob, now: Date, ranksEndedAt?: number, settleMs = 0): number {
  const limits = [now.getTime() - settleMs];
  if (ranksEndedAt !== undefined && Number.isFinite(ranksEndedAt)) limits.push(ranksEndedAt);
  const expires = job.status?.expiresAt ? Date.parse(job.status.expiresAt) : NaN;
  if (Number.isFinite(expires)) limits.push(expires);
  const terminated = job.spec.terminationRequestedAt ? Date.parse(job.spec.terminationRequestedAt) : NaN;
  if (Number.isFinite(terminated)) limits.push(terminated);
  return Math.min(...limits);
}

/**
 * The charge windows due for a job now (oldest first), from persisted facts only. `settleMs`: a
 * job that is not final yet counts as running only until now - settleMs (see AccountingDeps).
 */
export function dueWindows(job: UCloudJob, now: Date, intervalMs: number, minuteMs = MINUTE, ranksEndedAt?: number, settleMs = 0): ChargeWindow[] {
  const status = job.status;
  // Core has no such job and refuses its charges; what it accepted before is in the watermark.
  if (!status?.startedAt || status.unknownToCore) return [];
  const start = Date.parse(status.startedAt);
  const finished = isFinal(status.state) && status.finishedAt !== undefined;
  const end = finished ? Date.parse(status.finishedAt!) : runningUntil(job, now, ranksEndedAt, settleMs);
  const charged = status.accounting?.chargedPeriods ?? 0;
  const id = job.spec.jobId;
  const units = job.spec.replicas;
  const period = chargePeriodMillis(job.spec.product, minuteMs);
  if (period === undefined) {
    return charged >= 1 ? [] : [{ id, chargeId: `${id}_${start}`, units, periods: 1, chargedPeriodsAfter: 1 }];
  }
  const w = windowPeriods(intervalMs, period);
  const elapsed = Math.max(0, end - start);
  // Whole periods used: complete ones while running, rounded up once the job has ended, and at
  // least one for a job that ran at all (apiserver timestamps are whole seconds, so a job that
  // ended within the second it started would otherwise run for free).
  const total = finished ? Math.max(1, Math.ceil(elapsed / period)) : Math.floor(elapsed / period);
  const windows: ChargeWindow[] = [];
  let covered = charged;
  while (covered < total) {
    const windowStartPeriods = Math.floor(covered / w) * w;
    if (windowStartPeriods !== covered) break; // not on a boundary: written by another scheme; never re-charge
    const windowEnd = windowStartPeriods + w;
    if (windowEnd > total && !finished) break; // incomplete window of a running job: wait
    const upTo = Math.min(windowEnd, total);
    windows.push({
      id,
      chargeId: `${id}_${start + windowStartPeriods * period}`,
      units,
      periods: upTo - windowStartPeriods,
      chargedPeriodsAfter: upTo,
    });
    covered = upTo;
  }
  return windows;
}

/**
 * When a due window closed: its last period's end, or the job's end if that came first (charged
 * once: the start). How long it has waited for its charge is measured from here. The period is
 * dueWindows' own (chargePeriodMillis).
 */
export function windowClosedAt(job: UCloudJob, window: ChargeWindow, minuteMs = MINUTE): number {
  const start = Date.parse(job.status?.startedAt ?? '');
  const period = chargePeriodMillis(job.spec.product, minuteMs);
  if (period === undefined) return start;
  const closes = start + window.chargedPeriodsAfter * period;
  const finishedAt = Date.parse(job.status?.finishedAt ?? '');
  return Number.isFinite(finishedAt) ? Math.min(closes, finishedAt) : closes;
}

export interface AccountingDeps {
  kube: KubePort;
  control: JobsControlPort;
  listJobs: () => readonly UCloudJob[];
  logger: Logger;
  metrics?: OperatorMetrics;
  intervalMs: number;
  /** Length of a price minute (config accounting.minuteMillis); 60 s unless a test shortens it. */
  minuteMillis?: number;
  /**
   * When every rank of a job that is not final yet has ended (from the pod cache): not billed past.
   * null: the cache does not show every rank (pods deleted, or a cache still catching up after a
   * restart); such a job is not billed until the reconciler has decided how it ended.
   */
  ranksEndedAt?: (job: UCloudJob, now: Date) => number | undefined | null;
  /**
   * A window of a job that is not final yet is charged only this long after it closes. The caches
   * can show a job as running a little after it ended: a pod's end time is whole seconds (its last
   * second may lie before the boundary), a termination is stamped when it is asked for, before the
   * job is written, and watch events lag writes. Billing the window at its boundary charged those
   * jobs a full window they did not run (the chaos run found it). Config accounting.settleSeconds.
   */
  settleMs?: number;
  /**
   * False while the pod or job cache may be missing changes (a watch is being re-established, e.g.
   * through a kube-apiserver restart): no window of a job that is not final is charged then.
   */
  cachesCurrent?: () => boolean;
  /**
   * How often a running job's watermark is written to its status (0: after every pass). Between
   * writes it is kept in memory; a new process resends the windows since the last write, which is
   * harmless (identical resends, above) and saves one status write per job per pass: 10,000 writes
   * a minute at 10,000 jobs. A final job's watermark is always written at once.
   */
  persistEveryMs?: number;
  now?: () => Date;
  /** How long a final job waits for others to batch with it (ms); 100 unless a test says. */
  finalWindowMs?: number;
  /** Watermark writes give way to the reconciler's state writes (write-priority.ts). */
  priority?: WritePriority;
}

/** A watermark Core acknowledged that the job's status may not show yet (written or write-behind). */
interface Watermark {
  periods: number;
  lastChargeId: string;
}

export class Accounting {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = true;
  private queue = new WorkQueue('accounting');
  private loop?: Promise<void>;
  /** Passes and final-job batches one at a time: they read and write the same watermarks. */
  private serial: Promise<unknown> = Promise.resolve();
  private retryDelayMs = 500;
  /** Watermarks acknowledged by UCloud/Core that the cache may not show yet (persistEveryMs write-behind, or a write in flight). */
  private readonly watermarks = new ReadYourWrites<UCloudJob, Watermark>((cached, w) => (cached.status?.accounting?.chargedPeriods ?? 0) >= w.periods);
  /** Jobs (by uid) whose charges Core refused although it knows them: one Event each, not one a pass. */
  private readonly refusedNoted = new Set<string>();

  private readonly events: JobEventRecorder;

  constructor(private readonly deps: AccountingDeps) {
    this.events = new JobEventRecorder(deps.kube, deps.logger, undefined, undefined, deps.priority);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.queue = new WorkQueue('accounting', undefined, this.deps.metrics);
    this.loop = this.run();
    this.schedule(this.deps.intervalMs);
    for (const job of this.deps.listJobs()) this.observe(job, 'add');
  }

  /** The informer's feed: a final job with a window due (or a remembered watermark unwritten) is queued. */
  observe(job: UCloudJob, kind: ChangeKind): void {
    const key = keyOf(job);
    if (kind === 'delete') return this.watermarks.forget(key);
    if (this.stopped || !isFinal(job.status?.state) || !job.spec?.jobId) return;
    const view = this.withAcked(key, job);
    if (view !== job || dueWindows(view, this.now(), this.deps.intervalMs, this.deps.minuteMillis).length) this.queue.add(key);
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .catch((e: unknown) => this.deps.logger.warn('Accounting pass failed; will retry', { err: e }))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.deps.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Final jobs, batched: the first opens a short window, everything queued by its end goes in one call. */
  private async run(): Promise<void> {
    for (;;) {
      const first = await this.queue.get();
      if (first === undefined) return;
      if (!this.stopped) await new Promise((r) => setTimeout(r, this.deps.finalWindowMs ?? 100));
      const keys = [first];
      while (this.queue.length) {
        const k = await this.queue.get();
        if (k !== undefined) keys.push(k);
      }
      const wanted = new Set(keys);
      const jobs = this.deps.listJobs().filter((j) => wanted.has(keyOf(j)));
      try {
        await this.exclusive(() => this.chargeJobs(jobs, false));
        this.retryDelayMs = 500;
      } catch (e) {
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
        this.deps.logger.warn('Charging ended jobs failed; will retry', { jobs: keys.length, retryInMs: this.retryDelayMs, err: e });
        for (const k of keys) this.queue.addAfter(k, this.retryDelayMs);
      } finally {
        for (const k of keys) this.queue.done(k);
      }
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.serial.then(fn, fn);
    this.serial = next.catch(() => undefined);
    return next;
  }

  /**
   * The job as the cache holds it, with the watermark acknowledged since its status was last
   * written (persistEveryMs). The cached copy wins once it has caught up, and for another
   * incarnation of the name.
   */
  private withAcked(key: string, job: UCloudJob): UCloudJob {
    const mem = this.watermarks.pending(key, job);
    if (!mem) return job;
    return { ...job, status: { ...job.status, accounting: { ...job.status?.accounting, chargedPeriods: mem.periods, lastChargeId: mem.lastChargeId } } };
  }

  /** Writes the remembered watermarks of `jobs` to their status (16 at a time, until `deadline`). */
  private async writeAcked(jobs: readonly UCloudJob[], now: Date, deadline = Infinity): Promise<void> {
    await runLimited(jobs, 16, async (job) => {
      const key = keyOf(job);
      const mem = this.watermarks.pending(key, job);
      if (!mem || Date.now() > deadline) return;
      try {
        const stored = await this.deps.kube.ucloudJobs.mergePatchStatus(job.metadata.namespace!, job.metadata.name, {
          accounting: { chargedPeriods: mem.periods, lastChargeId: mem.lastChargeId, chargedAt: now.toISOString() },
        });
        this.watermarks.wrote(key, stored, mem);
      } catch (e) {
        this.deps.logger.warn('Could not record charge watermark', { job: job.metadata.name, err: e });
      }
    });
  }

  /**
   * Stops passes, then writes the watermarks kept in memory (for up to `flushMs`), so the next
   * leader does not resend up to persistEveryMs of windows for every running job.
   */
  async stop(flushMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.queue.shutDown();
    await this.loop;
    await this.running;
    await this.serial;
    const unwritten = this.deps.listJobs().filter((job) => this.watermarks.pending(keyOf(job), job));
    await this.writeAcked(unwritten, this.now(), Date.now() + flushMs);
  }

  /**
   * What is due now over `jobs`: the windows to charge, and the final jobs whose last window was
   * only remembered (their watermark must be written). One rule for a pass, a batch of final jobs
   * and the uncharged-windows gauge.
   */
  private collectDue(
    jobs: readonly UCloudJob[],
    now: Date,
  ): { due: Array<{ job: UCloudJob; windows: ChargeWindow[] }>; settled: UCloudJob[]; seen: Set<string> } {
    const due: Array<{ job: UCloudJob; windows: ChargeWindow[] }> = [];
    const cachesCurrent = this.deps.cachesCurrent?.() ?? true;
    const seen = new Set<string>();
    const settled: UCloudJob[] = [];
    for (const cached of jobs) {
      if (!cached?.spec?.jobId || !cached.metadata?.name) continue;
      const key = keyOf(cached);
      seen.add(key);
      const job = this.withAcked(key, cached);
      const final = isFinal(job.status?.state);
      if (!final && !cachesCurrent) continue;
      const endedAt = final ? undefined : this.deps.ranksEndedAt?.(job, now);
      if (endedAt === null) continue;
      const windows = dueWindows(job, now, this.deps.intervalMs, this.deps.minuteMillis, endedAt, this.deps.settleMs);
      if (windows.length) due.push({ job, windows });
      // Ended with every window already charged, the last one while it still looked running (and
      // so only remembered): its watermark must be written now, as a final job's always is.
      else if (final && job !== cached) settled.push(cached);
    }
    return { due, settled, seen };
  }

  /**
   * Charge windows due now and not acknowledged by UCloud/Core, and when the oldest closed (the
   * uncharged-windows gauges). A pass charges them within a second or an interval, so with many
   * jobs some are always due; one that has waited for many intervals means charging fails.
   */
  uncharged(): { windows: number; oldestClosedAt?: number } {
    let windows = 0;
    let oldestClosedAt: number | undefined;
    for (const { job, windows: ws } of this.collectDue(this.deps.listJobs(), this.now()).due) {
      windows += ws.length;
      const closed = windowClosedAt(job, ws[0]!, this.deps.minuteMillis);
      if (Number.isFinite(closed) && (oldestClosedAt === undefined || closed < oldestClosedAt)) oldestClosedAt = closed;
    }
    return { windows, oldestClosedAt };
  }

  /** One pass over every cached job: charge what is due, then record the watermarks. */
  pass(): Promise<{ items: number; jobs: number }> {
    return this.exclusive(() => this.chargeJobs(this.deps.listJobs(), true));
  }

  private async chargeJobs(jobs: readonly UCloudJob[], everyJob: boolean): Promise<{ items: number; jobs: number }> {
    const now = this.now();
    const { due, settled, seen } = this.collectDue(jobs, now);
    if (everyJob) this.watermarks.retain((key) => seen.has(key));
    await this.writeAcked(settled, now);
    const items = due.flatMap((d) => d.windows);
    if (!items.length) return { items: 0, jobs: 0 };
    const result = await this.deps.control.deliverCharges(items.map(({ id, chargeId, units, periods }) => ({ id, chargeId, units, periods })));
    const rejected = new Map(result.rejected.map((r) => [r.id, r]));
    const taken = due.filter((d) => !rejected.has(d.job.spec.jobId));
    const takenItems = taken.flatMap((d) => d.windows);
    this.deps.metrics?.chargesSent.inc(takenItems.length);
    this.deps.metrics?.chargedPeriods.inc(takenItems.reduce((s, i) => s + i.periods, 0));
    await this.onRejected(due, rejected, now);
    const broke = new Set(result.insufficientFunds.map((f) => f.id));
    // Four watermark writes at a time, each after the state writes in flight: the reconcile workers'
    // status writes share the connection pool (request-slots.ts) and go first (write-priority.ts).
    await runLimited(taken, WATERMARK_WRITES_IN_FLIGHT, (d) => this.record(d.job, d.windows, broke.has(d.job.spec.jobId), now));
    return { items: takenItems.length, jobs: taken.length };
  }

  /**
   * Records the windows Core took: in memory at once, in the job's status when it is final, out
   * of credits, or its last write is persistEveryMs old. "No credits" is written by its one
   * writer (no-credits.ts), in the same patch as the watermark.
   */
  private async record(job: UCloudJob, windows: ChargeWindow[], broke: boolean, now: Date): Promise<void> {
    const last = windows[windows.length - 1]!;
    const key = keyOf(job);
    const mark: Watermark = { periods: last.chargedPeriodsAfter, lastChargeId: last.chargeId };
    this.watermarks.wrote(key, undefined, mark, job.metadata.uid);
    const accounting = { chargedPeriods: mark.periods, lastChargeId: mark.lastChargeId, chargedAt: now.toISOString() };
    const final = isFinal(job.status?.state);
    if (broke && !final) {
      if (!(await markNoCredits(this.deps.kube, this.deps.logger, job, { accounting }))) this.watermarks.forget(key);
      return;
    }
    const writtenAt = job.status?.accounting?.chargedAt ? Date.parse(job.status.accounting.chargedAt) : NaN;
    if (!final && now.getTime() - writtenAt < (this.deps.persistEveryMs ?? 0)) return;
    try {
      await this.deps.priority?.background();
      this.watermarks.wrote(key, await this.deps.kube.ucloudJobs.mergePatchStatus(job.metadata.namespace!, job.metadata.name, { accounting }), mark);
    } catch (e) {
      // The next pass resends the same windows (identical chargeIds), so nothing is lost.
      this.watermarks.forget(key);
      this.deps.logger.warn('Could not record charge watermark', { job: job.metadata.name, err: e });
    }
  }

  /**
   * Jobs whose windows Core did not take. Unknown to Core: marked (with the watermark Core did
   * accept, kept in memory until now, written in the same patch) and never charged again. Known
   * but refused, or not determinable now: their windows stay due and go out again next pass.
   */
  private async onRejected(
    due: ReadonlyArray<{ job: UCloudJob; windows: ChargeWindow[] }>,
    rejected: ReadonlyMap<string, { verdict: string; error: { why: string } }>,
    now: Date,
  ): Promise<void> {
    for (const { job } of due) {
      const r = rejected.get(job.spec.jobId);
      if (!r) continue;
      const uid = job.metadata.uid ?? job.metadata.name;
      if (r.verdict === 'unknown_job') {
        const accounting = job.status?.accounting;
        await markUnknownToCore(this.deps.kube, this.deps.logger, job, { call: 'chargeCredits', why: r.error.why }, now, accounting ? { accounting } : {});
      } else if (r.verdict === 'refused' && !this.refusedNoted.has(uid)) {
        this.refusedNoted.add(uid);
        await this.events.record(
          jobRef(job),
          'Warning',
          'ChargeRejected',
          'Charge',
          `UCloud/Core refused this job's charges (${r.error.why}); they are sent again every accounting pass`,
        );
      }
    }
  }
}

const WATERMARK_WRITES_IN_FLIGHT = 4;

async function runLimited<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
