// Every Prometheus series the operator exports, in one registry. Names follow controller-runtime
// (controller_runtime_*, workqueue_*) so stock SRE dashboards work; our own series carry the
// ucloud_operator_ prefix. Labels are low-cardinality: never a job id.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UCloudJobStateSchema, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';

/** States of ucloud_operator_jobs: every one is exported (0 when empty) so rates and alerts see it. */
export const JOB_STATES = UCloudJobStateSchema.options;
/** State label of a UCloudJob the reconciler has not decided on yet. */
export const UNDECIDED_STATE = 'PENDING';

/** What workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds read. */
export interface QueueInFlight {
  readonly name: string;
  /** Start times (performance.now() ms) of the keys being processed now. */
  processingSince(): Iterable<number>;
}

/** Charge windows due and not acknowledged, over every cached job (the accounting's view). */
export interface UnchargedWindows {
  windows: number;
  /** Unix ms when the oldest of them closed; undefined when there is none. */
  oldestClosedAt?: number;
}

/** The outbox of every cached job, summed (the reporter's view, acknowledgements in memory included). */
export interface OutboxBacklog {
  updates: number;
  /** Unix ms of the oldest unacknowledged update (its `at`); undefined when there is none. */
  oldestAt?: number;
}

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller and result',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly workqueueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  readonly workqueueQueueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
    registers: [this.registry],
  });
  readonly workqueueWorkDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: ['name'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly queues = new Map<string, QueueInFlight>();
  // client-go's workqueue metrics (util/workqueue/metrics.go), computed at scrape time from the
  // keys in flight, so a reconcile stuck on a call that never returns shows here while it hangs.
  readonly workqueueUnfinishedWork: Gauge<'name'> = new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
    labelNames: ['name'] as const,
    registers: [this.registry],
    collect: () => this.collectQueues(),
  });
  readonly workqueueLongestRunning: Gauge<'name'> = new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: ['name'] as const,
    registers: [this.registry],
    collect: () => this.collectQueues(),
  });
  readonly activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly maxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  /** Every request to the apiserver, API calls and watches (k8s/request-metrics.ts). */
  readonly restClientRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'] as const,
    registers: [this.registry],
  });
  /** client-go's leaderelection metric; `name` is the Lease's name. */
  readonly leaderElectionMasterStatus = new Gauge({
    name: 'leader_election_master_status',
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private backlogSource?: () => OutboxBacklog | undefined;
  readonly outboxUpdates: Gauge = new Gauge({
    name: 'ucloud_operator_outbox_unacknowledged_updates',
    help: 'Job updates decided but not yet acknowledged by UCloud/Core, over all jobs (0 on a standby, so sums over replicas count each once).',
    registers: [this.registry],
    collect: () => this.collectBacklog(),
  });
  readonly outboxOldestAge: Gauge = new Gauge({
    name: 'ucloud_operator_outbox_oldest_unacknowledged_age_seconds',
    help: 'Age of the oldest job update UCloud/Core has not acknowledged (0 when there is none, and on a standby).',
    registers: [this.registry],
    collect: () => this.collectBacklog(),
  });
  private unchargedSource?: () => UnchargedWindows | undefined;
  readonly unchargedWindows: Gauge = new Gauge({
    name: 'ucloud_operator_uncharged_windows',
    help: 'Charge windows that are due (complete and settled) but not acknowledged by UCloud/Core, over all jobs (0 on a standby).',
    registers: [this.registry],
    collect: () => this.collectUncharged(),
  });
  readonly unchargedOldestAge: Gauge = new Gauge({
    name: 'ucloud_operator_uncharged_window_oldest_age_seconds',
    help: 'Seconds since the oldest due, unacknowledged charge window closed (0 when there is none, and on a standby).',
    registers: [this.registry],
    collect: () => this.collectUncharged(),
  });
  /** Last time each running informer heard from the apiserver (Date.now() ms), by resource. */
  private readonly watchHeard = new Map<string, number>();
  readonly watchStaleness: Gauge<'resource'> = new Gauge({
    name: 'ucloud_operator_watch_staleness_seconds',
    help: 'Seconds since each running informer last heard from the apiserver (a list, a watch opened, an event or a bookmark), by resource',
    labelNames: ['resource'] as const,
    registers: [this.registry],
    collect: () => {
      this.watchStaleness.reset();
      const now = Date.now();
      for (const [resource, at] of this.watchHeard) this.watchStaleness.set({ resource }, Math.max(0, (now - at) / 1000));
    },
  });
  readonly adapterRequests = new Counter({
    name: 'ucloud_operator_adapter_requests_total',
    help: 'Provider API calls served, by call and HTTP status code',
    labelNames: ['call', 'code'] as const,
    registers: [this.registry],
  });
  readonly adapterRequestDuration = new Histogram({
    name: 'ucloud_operator_adapter_request_duration_seconds',
    help: 'Provider API call latency, by call',
    labelNames: ['call'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly adapterRejected = new Counter({
    name: 'ucloud_operator_adapter_rejected_total',
    help: 'Provider API calls rejected before any write, by reason (unauthenticated, invalid_body, not_found, ...)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly controlCalls = new Counter({
    name: 'ucloud_operator_jobs_control_requests_total',
    help: 'HTTP calls made to UCloud/Core (JobsControl and auth), by call and outcome',
    labelNames: ['call', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly controlCallDuration = new Histogram({
    name: 'ucloud_operator_jobs_control_request_duration_seconds',
    help: 'Latency of HTTP calls to UCloud/Core, by call',
    labelNames: ['call'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private jobsSource?: () => Iterable<UCloudJob> | undefined;
  readonly jobsByState: Gauge<'state'> = new Gauge({
    name: 'ucloud_operator_jobs',
    help: 'UCloudJobs in the reconciler cache, by UCloud JobState (PENDING: not decided yet). Only the leader exports it.',
    labelNames: ['state'] as const,
    registers: [this.registry],
    // Computed at scrape time from the informer cache, so it can never drift from it.
    collect: () => this.collectJobs(),
  });
  readonly stateReports = new Counter({
    name: 'ucloud_operator_state_reports_total',
    help: 'Job updates acknowledged by UCloud/Core, by reported state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly chargesSent = new Counter({
    name: 'ucloud_operator_charges_total',
    help: 'chargeCredits items acknowledged by UCloud/Core',
    registers: [this.registry],
  });
  readonly chargedPeriods = new Counter({
    name: 'ucloud_operator_charged_periods_total',
    help: 'Sum of periods charged to UCloud/Core',
    registers: [this.registry],
  });
  readonly rejectedJobs = new Counter({
    name: 'ucloud_operator_jobs_control_rejected_jobs_total',
    help: 'Jobs whose items UCloud/Core refused after a rejected batch was split, by call and verdict (unknown_job, refused, undetermined)',
    labelNames: ['call', 'verdict'] as const,
    registers: [this.registry],
  });
  readonly invalidJobs = new Counter({
    name: 'ucloud_operator_invalid_jobs_total',
    help: 'UCloudJob objects the reconciler could not parse (see the InvalidSpec condition)',
    registers: [this.registry],
  });
  readonly childCreateRefused = new Counter({
    name: 'ucloud_operator_child_create_refused_total',
    help: "Creates of a job's pods or supporting objects the apiserver refused (quota, admission, Pod Security; see the ChildrenCreated condition)",
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'ucloud_operator_leader',
    help: '1 while this replica holds the leader lease',
    registers: [this.registry],
  });
  readonly childrenFromCache = new Counter({
    name: 'ucloud_operator_children_verified_from_cache_total',
    help: "Reconciles that found a job's ConfigMap, Service and NetworkPolicy in place in the caches (no apiserver calls)",
    registers: [this.registry],
  });
  /** Events queued by a reconcile (job-events.ts emit) that were not written: `error`, `overflow` or `shutdown`. */
  readonly eventsNotRecorded = new Counter({
    name: 'ucloud_operator_events_not_recorded_total',
    help: 'Kubernetes Events that could not be written (cause: error), or were dropped because the Event queue was full (cause: overflow) or the operator stopped (cause: shutdown)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly storedJobReads = new Counter({
    name: 'ucloud_operator_stored_job_reads_total',
    help: 'Reads of a stored UCloudJob for the ConfigMap contents the job cache leaves out (docs/adr/0030)',
    registers: [this.registry],
  });
  readonly watchLastEvent = new Gauge({
    name: 'ucloud_operator_watch_last_event_timestamp_seconds',
    help: 'Unix time of the last watch event or relist, by resource',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Where ucloud_operator_jobs comes from: the reconciler's cache while this replica reconciles,
   * undefined otherwise (a standby exports no series, so sums over replicas count each job once).
   */
  observeJobs(source: () => Iterable<UCloudJob> | undefined): void {
    this.jobsSource = source;
  }

  /** A work queue whose in-flight keys the workqueue gauges report (the latest of a name wins). */
  observeQueue(queue: QueueInFlight): void {
    this.queues.set(queue.name, queue);
  }

  /** The outbox backlog source: the reporter's, while this replica reconciles (else undefined). */
  observeBacklog(source: () => OutboxBacklog | undefined): void {
    this.backlogSource = source;
  }

  /** The uncharged windows: the accounting's, while this replica charges (else undefined). */
  observeUncharged(source: () => UnchargedWindows | undefined): void {
    this.unchargedSource = source;
  }

  /** An informer heard from the apiserver (sets the staleness clock and the last-event timestamp). */
  watchHeardFrom(resource: string, at = Date.now()): void {
    this.watchHeard.set(resource, at);
    this.watchLastEvent.set({ resource }, at / 1000);
  }

  /** An informer stopped: a standby's stopped caches are not stale watches. */
  watchStopped(resource: string): void {
    this.watchHeard.delete(resource);
  }

  private collectQueues(): void {
    this.workqueueUnfinishedWork.reset();
    this.workqueueLongestRunning.reset();
    const now = performance.now();
    for (const q of this.queues.values()) {
      let total = 0;
      let longest = 0;
      for (const since of q.processingSince()) {
        const secs = Math.max(0, (now - since) / 1000);
        total += secs;
        longest = Math.max(longest, secs);
      }
      this.workqueueUnfinishedWork.set({ name: q.name }, total);
      this.workqueueLongestRunning.set({ name: q.name }, longest);
    }
  }

  private collectUncharged(): void {
    this.unchargedWindows.reset();
    this.unchargedOldestAge.reset();
    const u = this.unchargedSource?.();
    if (!u) return;
    this.unchargedWindows.set(u.windows);
    this.unchargedOldestAge.set(u.oldestClosedAt === undefined ? 0 : Math.max(0, (Date.now() - u.oldestClosedAt) / 1000));
  }

  private collectBacklog(): void {
    this.outboxUpdates.reset();
    this.outboxOldestAge.reset();
    const b = this.backlogSource?.();
    if (!b) return;
    this.outboxUpdates.set(b.updates);
    this.outboxOldestAge.set(b.oldestAt === undefined ? 0 : Math.max(0, (Date.now() - b.oldestAt) / 1000));
  }

  private collectJobs(): void {
    this.jobsByState.reset();
    const jobs = this.jobsSource?.();
    if (!jobs) return;
    const counts = new Map<string, number>([...JOB_STATES, UNDECIDED_STATE].map((s) => [s, 0]));
    for (const job of jobs) {
      const state = job.status?.state ?? UNDECIDED_STATE;
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    for (const [state, n] of counts) this.jobsByState.set({ state }, n);
  }
}

/**
 * A scrape-time computation over every cached job, answered again from its last result until 50
 * times its own cost has passed (at most 5 s). With a few jobs that is no caching at all; with
 * 10,000 a pass costs ~100 ms (the restart's profile: the uncharged windows and the outbox backlog
 * were 4.6 s of CPU while a poller scraped every 250 ms), and no scrape rate makes the gauges cost
 * more than ~2 % of a core. The result is never older than 5 s and never drifts from the cache.
 */
export function throttled<T>(compute: () => T, clock: () => number = () => performance.now()): () => T {
  let at = -Infinity;
  let cost = 0;
  let last: T;
  return () => {
    const now = clock();
    if (now - at < Math.min(5000, cost * 50)) return last;
    last = compute();
    at = clock();
    cost = at - now;
    return last;
  };
}
