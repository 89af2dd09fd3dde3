// Leader election with two operator processes: both run the built entrypoint
// (node dist/src/main.js) against the real apiserver and campaign for one Lease. Only the holder
// reconciles, reports and charges; both serve the adapter. SIGKILL the holder (no release, no
// goodbye) and the other takes the Lease within the lease duration, finishes the job, and UCloud/Core
// sees every update and charge exactly once. SIGTERM instead hands the Lease over at once.
import { jest } from '@jest/globals';
import { podName } from '../../src/api/v1alpha1/names.js';
import { createTestNamespace, eventually, type TestNamespace } from '../support/harness.js';
import { hasSeries, metric, runForASecond, scrape, spawnReplica, type OperatorProcess } from '../support/ops.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';
import { exitPod } from '../support/workload.js';
import { specJob } from '../support/job-factory.js';

jest.setTimeout(150_000);

/** The spec's example create body. */
const fixture = { items: [specJob()] };
const LEASE = 'ucloud-operator-leader';
const LEASE_DURATION_S = 4;
const RETRY_S = 1;

describe('leader election between two operator processes', () => {
  let ns: TestNamespace;
  let core: UCloudCoreEmulator;
  const procs: OperatorProcess[] = [];

  beforeAll(async () => {
    ns = await createTestNamespace('le');
    core = await UCloudCoreEmulator.start({ providerId: 'example' });
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await core?.close();
    await ns?.delete();
  });

  function start(name: string): Promise<OperatorProcess> {
    return spawnReplica({
      name,
      namespace: ns.name,
      core,
      leaderElection: { leaseName: LEASE, leaseDurationSeconds: LEASE_DURATION_S, renewDeadlineSeconds: 3, retryPeriodSeconds: RETRY_S },
      shutdownDeadlineMs: 20_000,
      config: { reconciler: { resyncSeconds: 30 } },
    });
  }

  const holder = async () => (await ns.kube.leases.get(ns.name, LEASE))?.spec?.holderIdentity;

  it('only the Lease holder reconciles; after SIGKILL the standby takes over with no duplicate report or charge', async () => {
    procs.push(...(await Promise.all([start('op-a'), start('op-b')])));
    const leaderName = await eventually(holder, 'a Lease holder');
    const leader = procs.find((p) => p.name === leaderName)!;
    const standby = procs.find((p) => p.name !== leaderName)!;
    expect(leader).toBeDefined();

    // Both are ready: the leader with synced caches, the standby serving the adapter.
    await eventually(async () => (await (await fetch(`${leader.probeUrl}/readyz`)).text()) === 'ok: leader', 'the leader ready');
    expect(await (await fetch(`${standby.probeUrl}/readyz`)).text()).toBe('ok: standby');

    // UCloud/Core may call either replica: this create goes to the standby.
    const res = await core.callProvider(standby.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, fixture);
    expect(res).toEqual({ status: 200, body: { responses: [null] } });
    await core.waitFor(() => core.jobStates('54112').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    await eventually(async () => {
      const j = await ns.kube.ucloudJobs.get(ns.name, 'j-54112');
      return j?.status?.outbox && j.status.outbox.acknowledgedSeq >= 1;
    }, 'RUNNING acknowledged in the CR');

    // Only the leader reconciled: the standby's controller never started.
    const [lm, sm] = await Promise.all([scrape(leader.probeUrl), scrape(standby.probeUrl)]);
    expect(metric(lm, 'ucloud_operator_leader')).toBe(1);
    expect(metric(sm, 'ucloud_operator_leader')).toBe(0);
    // client-go's series, by Lease name: 1 on the leader, 0 (a backup) on the standby.
    expect(metric(lm, 'leader_election_master_status', { name: LEASE })).toBe(1);
    expect(hasSeries(sm, 'leader_election_master_status', { name: LEASE })).toBe(true);
    expect(metric(sm, 'leader_election_master_status', { name: LEASE })).toBe(0);
    // The standby's controller informers never ran: no watch of jobs or pods to be stale. (Every
    // replica watches pods' requests for retrieveProducts' queueStatus: resource pods-capacity.)
    expect(hasSeries(sm, 'ucloud_operator_watch_staleness_seconds', { resource: 'ucloudjobs' })).toBe(false);
    expect(hasSeries(sm, 'ucloud_operator_watch_staleness_seconds', { resource: 'pods' })).toBe(false);
    expect(hasSeries(lm, 'ucloud_operator_watch_staleness_seconds', { resource: 'pods' })).toBe(true);
    expect(metric(lm, 'controller_runtime_reconcile_total')).toBeGreaterThan(0);
    expect(metric(sm, 'controller_runtime_reconcile_total')).toBe(0);
    expect(metric(sm, 'workqueue_adds_total')).toBe(0);
    expect(metric(sm, 'ucloud_operator_jobs_control_requests_total')).toBe(0);
    expect(metric(sm, 'ucloud_operator_adapter_requests_total', { call: 'create', code: '200' })).toBe(1);
    expect(standby.logged('Controller started')).toEqual([]);
    expect(leader.logged('Controller started')).toHaveLength(1);

    // Kill the leader outright: it cannot release the Lease.
    await runForASecond(ns, 'j-54112');
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    expect((await leader.exited).signal).toBe('SIGKILL');
    const dead = await ns.kube.leases.get(ns.name, LEASE);
    const lastRenewal = new Date(dead!.spec!.renewTime as unknown as string).getTime();
    await eventually(async () => (await holder()) === standby.name, 'the standby to take the Lease', 30_000);
    const lease = await ns.kube.leases.get(ns.name, LEASE);
    const acquiredAt = new Date(lease!.spec!.acquireTime as unknown as string).getTime();
    process.stdout.write(
      `leader-election: takeover ${acquiredAt - killedAt} ms after SIGKILL, ${acquiredAt - lastRenewal} ms after the last renewal (lease ${LEASE_DURATION_S}s, retry ${RETRY_S}s)\n`,
    );
    // client-go's bound, counted from the dead leader's last renewal: the standby notices that
    // record within a retry period, waits the lease duration by its own clock, and tries again
    // within another retry period. 1.5 s more for a loaded CI machine's timers.
    expect(acquiredAt - lastRenewal).toBeLessThanOrEqual((LEASE_DURATION_S + 2 * RETRY_S) * 1000 + 1500);
    expect(lease!.spec!.leaseTransitions).toBe(1);
    await eventually(async () => (await (await fetch(`${standby.probeUrl}/readyz`)).text()) === 'ok: leader', 'the new leader ready');

    // The new leader finishes the job: SUCCESS and the charge, each exactly once.
    await exitPod(ns.kc, ns.name, podName('j-54112', 0), { code: 0 });
    await core.waitFor(() => core.jobStates('54112').includes('SUCCESS'), 30_000, 'SUCCESS at UCloud/Core');
    await core.waitFor(() => core.charges.some((c) => c.item.id === '54112'), 30_000, 'the charge');
    await eventually(async () => (await ns.kube.ucloudJobs.get(ns.name, 'j-54112'))?.status?.accounting?.chargedPeriods === 1, 'the watermark');
    // Let any straggler (a duplicate would come from a resend) arrive before counting.
    await eventually(async () => {
      const sm2 = await scrape(standby.probeUrl);
      return metric(sm2, 'workqueue_depth', { name: 'ucloudjob' }) === 0;
    }, 'the new leader idle');
    const states = core.updates.filter((u) => u.id === '54112').map((u) => u.update.state);
    expect(states).toEqual(['RUNNING', 'SUCCESS']);
    const charges = core.charges.filter((c) => c.item.id === '54112');
    expect(charges).toHaveLength(1);
    expect(charges[0]!.item.periods).toBe(1);
    expect(core.conflictingCharges()).toEqual([]);
    const nm = await scrape(standby.probeUrl);
    expect(metric(nm, 'ucloud_operator_leader')).toBe(1);
    expect(metric(nm, 'controller_runtime_reconcile_total')).toBeGreaterThan(0);
    expect(metric(nm, 'ucloud_operator_charges_total')).toBe(1);
  });

  it('SIGTERM hands over at once: the leader releases the Lease and a standby takes it at its next retry', async () => {
    const leaderName = await holder();
    const leader = procs.find((p) => p.name === leaderName && p.child.exitCode === null)!;
    expect(leader).toBeDefined();
    const standby = await start('op-c');
    procs.push(standby);
    expect(await (await fetch(`${standby.probeUrl}/readyz`)).text()).toBe('ok: standby');

    // A running job to hand over.
    const second = { items: [specJob('54120')] };
    expect((await core.callProvider(leader.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, second)).status).toBe(200);
    await core.waitFor(() => core.jobStates('54120').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    await runForASecond(ns, 'j-54120');

    const termAt = Date.now();
    leader.kill('SIGTERM');
    expect(await leader.exited).toEqual({ code: 0, signal: null });
    expect(leader.logged('Released the lease')).toHaveLength(1);
    await eventually(async () => (await holder()) === 'op-c', 'op-c to take the Lease', 30_000);
    const lease = await ns.kube.leases.get(ns.name, LEASE);
    const handoverMs = new Date(lease!.spec!.acquireTime as unknown as string).getTime() - termAt;
    process.stdout.write(`leader-election: handover ${handoverMs} ms after SIGTERM (lease ${LEASE_DURATION_S}s, retry ${RETRY_S}s)\n`);
    // Released, not expired: well inside the lease duration.
    expect(handoverMs).toBeLessThan(LEASE_DURATION_S * 1000);

    await exitPod(ns.kc, ns.name, podName('j-54120', 0), { code: 0 });
    await core.waitFor(() => core.jobStates('54120').includes('SUCCESS'), 30_000, 'SUCCESS at UCloud/Core');
    await eventually(async () => (await ns.kube.ucloudJobs.get(ns.name, 'j-54120'))?.status?.accounting?.chargedPeriods === 1, 'the charge');
    expect(core.updates.filter((u) => u.id === '54120').map((u) => u.update.state)).toEqual(['RUNNING', 'SUCCESS']);
    expect(core.charges.filter((c) => c.item.id === '54120')).toHaveLength(1);
    expect(core.conflictingCharges()).toEqual([]);
  });
});
