// Delivers each UCloudJob's outbox (status.outbox: updates the reconciler decided) to UCloud/Core
// through JobsControl.update, batched across jobs, and records the acknowledgement in the CR.
// Delivery is at-least-once: a crash between Core's answer and the acknowledgement patch resends
// the same updates, which Core treats as no-ops (same state, same text). Nothing is ever lost:
// the outbox is in etcd, and a periodic sweep finds whatever a restart or an outage left behind.
import { unacknowledged, type UCloudJob, type OutboxEntry, type UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics, OutboxBacklog } from '../observability/metrics.js';
import type { JobsControlPort, RejectedJob } from '../ucloud/control-client.js';
import type { JobUpdate } from '../ucloud/control-api.js';
import type { JobState } from '../ucloud/job.js';
import { trimJob } from './job-trim.js';
import { markUnknownToCore } from './unknown-to-core.js';
import { JobEventRecorder } from './job-events.js';
import { keyOf, objectKey, splitKey } from '../k8s/object-key.js';

export interface ReporterDeps {
  kube: KubePort;
  control: JobsControlPort;
  /** Latest cached UCloudJob (raw) by namespace/name. */
  getJob: (namespace: string, name: string) => UCloudJob | undefined;
  /** Every cached UCloudJob, for the sweep. */
  listJobs: () => readonly UCloudJob[];
  logger: Logger;
  metrics?: OperatorMetrics;
  batchWindowMs: number;
  maxItemsPerCall: number;
  sweepIntervalMs?: number;
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
  private readonly pending = new Set<string>();
  /** Acknowledgements newer than the cache (the patch's watch event may not have arrived yet). */
  private readonly acked = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private retryDelayMs = 500;
  private stopped = false;
  private readonly unknownJobs = new Set<string>();
  /** Jobs (by uid) marked unknown to Core whose mark the cache may not show yet. */
  private readonly unknownToCore = new Set<string>();
  private readonly acking = new Set<Promise<void>>();
  /** Jobs as last written by the reconciler, until the cache has caught up with them. */
  private readonly written = new Map<string, UCloudJob>();

  private readonly events: JobEventRecorder;

  constructor(private readonly deps: ReporterDeps) {
    this.events = new JobEventRecorder(deps.kube, deps.logger);
  }

  start(): void {
    this.stopped = false;
    this.sweep();
  }

  /**
   * `written`: the job as the reconciler just stored it. The informer cache gets it only with the
   * watch event; reading the cache now would find nothing to send and leave it to the sweep.
   */
  notify(namespace: string, name: string, written?: UCloudJob): void {
    if (this.stopped) return;
    // Trimmed like the cache's copies: thousands can wait here while the watch lags behind a burst.
    const key = objectKey(namespace, name);
    if (written) this.written.set(key, trimJob(written));
    this.pending.add(key);
    this.schedule(this.deps.batchWindowMs);
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
      const pending = unacknowledged(job.status, this.acked.get(keyOf(job)) ?? 0);
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
    this.schedule(this.deps.batchWindowMs);
  }

  /** Sends what is pending now and waits for it (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.sweepTimer);
    await this.flushing;
    if (this.pending.size || this.unknownJobs.size) await this.flush().catch(() => undefined);
    await Promise.all([...this.acking]);
  }

  private sweep(): void {
    // Drops written copies the cache has caught up with (and ones of jobs long gone).
    for (const key of [...this.written.keys()]) {
      const { namespace, name } = splitKey(key);
      if (!this.deps.getJob(namespace, name) && !this.pending.has(key)) this.written.delete(key);
      else this.current(key, namespace, name);
    }
    for (const job of this.deps.listJobs()) {
      const key = keyOf(job);
      if (job.status?.unknownToCore) {
        this.unknownToCore.delete(job.metadata.uid ?? key); // the cache shows the mark now
        continue;
      }
      if (unacknowledged(job.status, this.acked.get(key) ?? 0).length) this.pending.add(key);
    }
    if (this.pending.size) this.schedule(0);
    const every = this.deps.sweepIntervalMs ?? 5000;
    if (!this.stopped && every > 0) {
      this.sweepTimer = setTimeout(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
  }

  private schedule(delayMs: number): void {
    // After stop() only stop's own final flush runs; a timer here would outlive the process's work.
    if (this.stopped || this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush()
        .catch((e: unknown) => this.deps.logger.error('Reporting to UCloud/Core failed', { err: e }))
        .finally(() => {
          this.flushing = undefined;
          if (this.pending.size || this.unknownJobs.size) this.schedule(this.retryDelayMs);
        });
    }, delayMs);
  }

  private collect(): Item[] {
    const items: Item[] = [];
    for (const key of [...this.pending]) {
      const { namespace, name } = splitKey(key);
      const job = this.current(key, namespace, name);
      this.pending.delete(key);
      // Core has no such job: nothing sent for it could succeed (status.unknownToCore).
      if (!job || job.status?.unknownToCore || this.unknownToCore.has(job.metadata.uid ?? key)) continue;
      const cachedAck = job.status?.outbox?.acknowledgedSeq ?? 0;
      const mem = this.acked.get(key) ?? 0;
      if (mem <= cachedAck) this.acked.delete(key);
      const left = statesLeft(job.status);
      for (const entry of unacknowledged(job.status, mem)) {
        const leaving = left.get(entry.seq);
        items.push({ key, namespace, name, jobId: job.spec.jobId, entry, ...(leaving ? { leaving } : {}) });
      }
    }
    return items;
  }

  /** The newer of the cached job and the one last written (outbox entries only ever get added). */
  private current(key: string, namespace: string, name: string): UCloudJob | undefined {
    const cached = this.deps.getJob(namespace, name);
    const written = this.written.get(key);
    if (!written) return cached;
    const lastSeq = (j: UCloudJob | undefined) => j?.status?.outbox?.entries.at(-1)?.seq ?? 0;
    // A cache that caught up, or holds a different incarnation of the name, wins for good.
    if (cached && (cached.metadata.uid !== written.metadata.uid || lastSeq(cached) >= lastSeq(written))) {
      this.written.delete(key);
      return cached;
    }
    return written;
  }

  private async flush(): Promise<void> {
    const unknown = [...this.unknownJobs];
    if (unknown.length) {
      // A job Core cannot find for this either is dropped from the verify list with the rest:
      // it is not ours to report on then.
      await this.deps.control.deliverUpdates(unknown.map((id) => ({ id, update: { state: 'FAILURE', status: 'UCloud/Compute lost track of this job' } })));
      for (const id of unknown) this.unknownJobs.delete(id);
    }
    const items = this.collect();
    let failed = false;
    for (let i = 0; i < items.length; i += this.deps.maxItemsPerCall) {
      const chunk = items.slice(i, i + this.deps.maxItemsPerCall);
      try {
        await this.send(chunk);
        this.retryDelayMs = 500;
      } catch (e) {
        failed = true;
        for (const it of items.slice(i)) this.pending.add(it.key);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
        this.deps.logger.warn('UCloud/Core did not take job updates; will retry', {
          items: items.length - i,
          retryInMs: this.retryDelayMs,
          err: e,
        });
        break;
      }
    }
    if (!failed) this.retryDelayMs = 500;
  }

  /**
   * Sends one chunk. The client isolates the jobs Core refuses (docs/adr/0015); the others' updates
   * are acknowledged. A refused job's updates: Core has no such job → marked unknownToCore (the
   * reconciler stops it; not acknowledged, never sent again); Core knows it and still refuses →
   * dropped with an UpdateRejected Event (resending cannot help); Core could not be asked → kept.
   */
  private async send(chunk: Item[]): Promise<void> {
    const outcome = await this.deps.control.deliverUpdates(chunk.map((it) => ({ id: it.jobId, update: toJobUpdate(it.entry, it.leaving) })));
    const refused = new Map<string, RejectedJob>(outcome.rejected.map((r) => [r.id, r]));
    const done = chunk.filter((it) => refused.get(it.jobId)?.verdict !== 'unknown_job' && refused.get(it.jobId)?.verdict !== 'undetermined');
    for (const r of refused.values()) {
      const its = chunk.filter((it) => it.jobId === r.id);
      const first = its[0];
      if (!first) continue;
      if (r.verdict === 'undetermined') {
        this.pending.add(first.key);
      } else if (r.verdict === 'unknown_job') {
        const job = this.current(first.key, first.namespace, first.name);
        if (job && job.spec.jobId === r.id) {
          const uid = job.metadata.uid ?? first.key;
          if (await markUnknownToCore(this.deps.kube, this.deps.logger, job, { call: 'update', why: r.error.why }, new Date())) this.unknownToCore.add(uid);
          else this.pending.add(first.key);
        }
      } else {
        this.deps.logger.warn('UCloud/Core rejected job updates; dropping them', {
          jobId: r.id,
          seqs: its.map((it) => it.entry.seq),
          why: r.error.why,
        });
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
    // The acknowledgement patches are not awaited here: the next batch must not queue behind a
    // hundred status patches (report latency). `acked` is set synchronously, so nothing is resent
    // meanwhile; stop() waits for them.
    const acking = this.acknowledge(done).finally(() => this.acking.delete(acking));
    this.acking.add(acking);
  }

  private async acknowledge(chunk: Item[]): Promise<void> {
    const maxSeq = new Map<string, Item>();
    for (const it of chunk) {
      const prev = maxSeq.get(it.key);
      if (!prev || prev.entry.seq < it.entry.seq) maxSeq.set(it.key, it);
      if (it.entry.state) this.deps.metrics?.stateReports.inc({ state: it.entry.state });
    }
    await Promise.all(
      [...maxSeq.values()].map(async (it) => {
        this.acked.set(it.key, Math.max(this.acked.get(it.key) ?? 0, it.entry.seq));
        try {
          await this.deps.kube.ucloudJobs.mergePatchStatus(it.namespace, it.name, {
            outbox: { acknowledgedSeq: it.entry.seq } as UCloudJobStatus['outbox'],
          });
        } catch (e) {
          // Gone: nothing left to acknowledge. Otherwise the sweep will resend and re-acknowledge.
          this.deps.logger.warn('Could not record acknowledgement', { job: it.key, seq: it.entry.seq, err: e });
        }
      }),
    );
  }
}
