// Every Prometheus series the operator exports, in one registry. Names follow controller-runtime
// (controller_runtime_*, workqueue_*) so stock SRE dashboards work; our own series carry the
// ucloud_operator_ prefix. Labels are low-cardinality: never a job id.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UCloudJobStateSchema, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';

/** States of ucloud_operator_jobs: every one is exported (0 when empty) so rates and alerts see it. */
export const JOB_STATES = UCloudJobStateSchema.options;
/** State label of a UCloudJob the reconciler has not decided on yet. */
export const UNDECIDED_STATE = 'PENDING';

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
