// /metrics after a job: the named series exist with the values the run implies, cross-
// checked against what the UCloud/Core emulator recorded and what the adapter was asked. Names
// follow controller-runtime (controller_runtime_*, workqueue_*); ours carry ucloud_operator_.
import { jest } from '@jest/globals';
import { podName } from '../../src/api/v1alpha1/names.js';
import { JOB_STATES } from '../../src/observability/metrics.js';
import { eventually } from '../support/harness.js';
import { useStack } from '../support/stack-hooks.js';
import { hasSeries, metric, runForASecond, scrape } from '../support/ops.js';
import { exitPod } from '../support/workload.js';
import { specJob } from '../support/job-factory.js';

jest.setTimeout(120_000);

/** The spec's example create body. */
const fixture = { items: [specJob()] };

describe('metrics after a job', () => {
  const stack = useStack('all');

  it('exports the named series with the right values', async () => {
    const { core, operator, ns } = stack();
    const startedAt = Date.now() / 1000;
    const base = `/ucloud/${core.providerId}/jobs`;
    expect((await core.callProvider(operator.adapterUrl, 'POST', base, fixture)).status).toBe(200);
    expect((await core.callProvider(operator.adapterUrl, 'GET', `${base}/retrieveProducts`)).status).toBe(200);
    expect((await core.callProvider(operator.adapterUrl, 'POST', base, fixture, { token: null })).status).toBe(401);

    const pod = podName('j-54112', 0);
    await core.waitFor(() => core.jobStates('54112').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    await runForASecond(ns, 'j-54112');
    await exitPod(ns.kc, ns.name, pod, { code: 0 });
    await core.waitFor(() => core.jobStates('54112').includes('SUCCESS'), 30_000, 'SUCCESS at UCloud/Core');
    await eventually(async () => (await ns.kube.ucloudJobs.get(ns.name, 'j-54112'))?.status?.accounting?.chargedPeriods === 1, 'the charge recorded');
    await eventually(async () => (await ns.kube.pods.get(ns.name, pod)) === undefined, 'the pod removed');
    // Settled: nothing queued or in flight, so the counters below are final.
    const m = await eventually(async () => {
      const s = await scrape(operator.probeUrl);
      // Nothing queued and no worker busy: a reconcile in flight has been taken from the queue
      // (queue_duration counted) but not yet counted as a reconcile.
      const idle =
        metric(s, 'workqueue_depth', { name: 'ucloudjob' }) === 0 && metric(s, 'controller_runtime_active_workers', { controller: 'ucloudjob' }) === 0;
      return idle ? s : undefined;
    }, 'an idle work queue');
    const text = await (await fetch(`${operator.probeUrl}/metrics`)).text();

    // Reconciles: three state changes at least, every one timed and taken from the queue once.
    const ctl = { controller: 'ucloudjob' };
    const reconciles = metric(m, 'controller_runtime_reconcile_total', ctl);
    expect(reconciles).toBeGreaterThanOrEqual(3);
    const results = m.filter((s) => s.name === 'controller_runtime_reconcile_total').map((s) => s.labels.result);
    for (const r of results) expect(['success', 'requeue_after', 'error']).toContain(r);
    expect(metric(m, 'controller_runtime_reconcile_time_seconds_count', ctl)).toBe(reconciles);
    expect(metric(m, 'controller_runtime_reconcile_errors_total', ctl)).toBe(metric(m, 'controller_runtime_reconcile_total', { ...ctl, result: 'error' }));
    expect(text).toMatch(/^# TYPE controller_runtime_reconcile_total counter$/m);
    expect(text).toMatch(/^# TYPE controller_runtime_reconcile_time_seconds histogram$/m);

    // Work queue: every reconcile was one get (queue latency) and one unit of work.
    const q = { name: 'ucloudjob' };
    expect(metric(m, 'workqueue_queue_duration_seconds_count', q)).toBe(reconciles);
    expect(metric(m, 'workqueue_work_duration_seconds_count', q)).toBe(reconciles);
    expect(metric(m, 'workqueue_adds_total', q)).toBeGreaterThanOrEqual(reconciles - metric(m, 'workqueue_retries_total', q));

    // Adapter: by call and status code, exactly what was asked.
    expect(metric(m, 'ucloud_operator_adapter_requests_total', { call: 'create', code: '200' })).toBe(1);
    expect(metric(m, 'ucloud_operator_adapter_requests_total', { call: 'retrieveProducts', code: '200' })).toBe(1);
    expect(metric(m, 'ucloud_operator_adapter_requests_total', { code: '401' })).toBe(1);
    expect(metric(m, 'ucloud_operator_adapter_requests_total')).toBe(3);
    expect(metric(m, 'ucloud_operator_adapter_request_duration_seconds_count', { call: 'create' })).toBe(2);
    expect(metric(m, 'ucloud_operator_adapter_rejected_total', { reason: 'unauthenticated' })).toBe(1);

    // JobsControl: the operator's count of calls equals the emulator's record of them.
    const atCore = (path: string) => core.calls.filter((c) => c.path === path && c.status === 200).length;
    const updates = atCore('/api/jobs/control/update');
    expect(updates).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'ucloud_operator_jobs_control_requests_total', { call: 'update', outcome: 'success' })).toBe(updates);
    expect(metric(m, 'ucloud_operator_jobs_control_requests_total', { call: 'chargeCredits', outcome: 'success' })).toBe(
      atCore('/api/jobs/control/chargeCredits'),
    );
    expect(metric(m, 'ucloud_operator_jobs_control_requests_total', { call: 'refresh', outcome: 'success' })).toBe(atCore('/auth/providers/refresh'));
    expect(metric(m, 'ucloud_operator_jobs_control_request_duration_seconds_count', { call: 'update' })).toBe(updates);
    expect(metric(m, 'ucloud_operator_state_reports_total', { state: 'RUNNING' })).toBe(1);
    expect(metric(m, 'ucloud_operator_state_reports_total', { state: 'SUCCESS' })).toBe(1);

    // Jobs by state, from the reconciler's cache: one SUCCESS, every other state exported as 0.
    for (const state of JOB_STATES) expect([state, metric(m, 'ucloud_operator_jobs', { state })]).toEqual([state, state === 'SUCCESS' ? 1 : 0]);
    expect(metric(m, 'ucloud_operator_jobs', { state: 'PENDING' })).toBe(0);

    // Charges: one item for one period, as the emulator recorded.
    expect(core.charges).toHaveLength(1);
    expect(metric(m, 'ucloud_operator_charges_total')).toBe(1);
    expect(metric(m, 'ucloud_operator_charged_periods_total')).toBe(core.chargedPeriods('54112'));

    // controller-runtime's other standard series: workers, nothing in flight once settled.
    expect(metric(m, 'controller_runtime_max_concurrent_reconciles', ctl)).toBe(stack().config.reconciler.workers);
    expect(metric(m, 'controller_runtime_active_workers', ctl)).toBe(0);
    expect(metric(m, 'workqueue_unfinished_work_seconds', q)).toBe(0);
    expect(metric(m, 'workqueue_longest_running_processor_seconds', q)).toBe(0);
    // Every apiserver request, by code, method and host: the pod was created (201), lists and
    // watches were answered (200), and nothing else went to another host.
    const host = new URL(ns.kc.getCurrentCluster()!.server).host;
    expect(metric(m, 'rest_client_requests_total', { code: '201', method: 'POST', host })).toBeGreaterThanOrEqual(4); // UCloudJob, ConfigMap, Service, NetworkPolicy, pod
    expect(metric(m, 'rest_client_requests_total', { code: '200', method: 'GET', host })).toBeGreaterThanOrEqual(10); // 5 lists + 5 watches at least
    expect(m.filter((s) => s.name === 'rest_client_requests_total' && s.labels.host !== host)).toEqual([]);
    // Backlog settled: Core has every update and every charge.
    expect(metric(m, 'ucloud_operator_outbox_unacknowledged_updates')).toBe(0);
    expect(metric(m, 'ucloud_operator_outbox_oldest_unacknowledged_age_seconds')).toBe(0);
    expect(metric(m, 'ucloud_operator_uncharged_windows')).toBe(0);
    expect(hasSeries(m, 'ucloud_operator_uncharged_window_oldest_age_seconds')).toBe(true);
    expect(metric(m, 'ucloud_operator_uncharged_window_oldest_age_seconds')).toBe(0);
    for (const resource of ['ucloudjobs', 'pods', 'configmaps', 'services', 'networkpolicies']) {
      expect([
        resource,
        hasSeries(m, 'ucloud_operator_watch_staleness_seconds', { resource }) && metric(m, 'ucloud_operator_watch_staleness_seconds', { resource }) < 60,
      ]).toEqual([resource, true]);
    }

    // Watches are alive, and the process metrics are there.
    expect(metric(m, 'ucloud_operator_watch_last_event_timestamp_seconds', { resource: 'pods' })).toBeGreaterThan(startedAt - 60);
    expect(hasSeries(m, 'process_cpu_seconds_total')).toBe(true);

    // Bounded cardinality and no secrets: no job id in any label, no credential in the text.
    expect(m.filter((s) => Object.values(s.labels).some((v) => v.includes('54112')))).toEqual([]);
    expect(text).not.toContain(core.refreshToken);
    expect(text).not.toContain(core.publicKeyBase64Der().slice(40, 80));
  });
});
