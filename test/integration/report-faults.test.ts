// Fault injection for the reporter as a controller of its own (docs/adr/0028), on the real
// control plane against the UCloud/Core emulator:
//   - a process that dies between Core's answer and the acknowledgement write: the next one
//     resends, Core (which checks expectedState) does not walk the job's timeline back, and the
//     acknowledgement and the Reported condition are written then;
//   - a Core outage: nothing is lost, Reported says so while it lasts, everything arrives in
//     order once Core is back;
//   - a leader change mid-batch (two processes, SIGKILL of the holder while Core's answers to its
//     batches are lost): the new leader finds every unacknowledged job when it starts (not only
//     those that change later), resends, and each state reaches Core once.
// Each fails without its mechanism: without expectedState the first (Core applies the resent
// SUCCESS again instead of skipping it); if what Core did not take were dropped, the second; without
// the reporter's pass over the cache when it starts, the third.
import { jest } from '@jest/globals';
import { jobResourceName, podName } from '../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import { KubeError } from '../../src/k8s/errors.js';
import { createClientNodePort } from '../../src/k8s/client-node-port.js';
import type { KubePort } from '../../src/k8s/kube-port.js';
import { startOperator, type RunningOperator } from '../../src/operator.js';
import { createTestNamespace, eventually, testConfig, type TestNamespace, type TestStack } from '../support/harness.js';
import { batchJob, specJob } from '../support/job-factory.js';
import { createJobs, crWhen, runningPods } from '../support/jobs.js';
import { spawnReplica, type OperatorProcess } from '../support/ops.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';
import { exitPod } from '../support/workload.js';

jest.setTimeout(180_000);

const reported = (j: UCloudJob | undefined) => j?.status?.conditions?.find((c) => c.type === 'Reported');
const acked = (j: UCloudJob | undefined) => j?.status?.outbox?.acknowledgedSeq ?? 0;
const lastSeq = (j: UCloudJob | undefined) => j?.status?.outbox?.entries.at(-1)?.seq ?? 0;

describe('reporting under faults', () => {
  let ns: TestNamespace;
  let core: UCloudCoreEmulator;
  const operators: RunningOperator[] = [];
  const procs: OperatorProcess[] = [];

  beforeEach(async () => {
    ns = await createTestNamespace('rf');
    core = await UCloudCoreEmulator.start({ providerId: 'example' });
  });
  afterEach(async () => {
    for (const op of operators.splice(0)) await op.stop();
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    await core?.close();
    await ns?.delete();
  });

  /** A stack-shaped view for the job helpers while operators come and go. */
  function stackOf(config: TestStack['config']): TestStack {
    return {
      ns,
      core,
      config,
      logs: [],
      get operator() {
        return operators.at(-1);
      },
      stop: async () => undefined,
    } as unknown as TestStack;
  }

  it('a process that dies between Core taking the updates and the acknowledgement: the next resends, Core is not walked back', async () => {
    const config = testConfig(ns.name, core, { accounting: { enabled: false } });
    const stack = stackOf(config);
    // The first process never gets its acknowledgements written: each attempt fails as if it had
    // died right after Core's answer.
    const real = createClientNodePort(ns.kc);
    let refused = 0;
    const dying: KubePort = {
      ...real,
      ucloudJobs: {
        ...real.ucloudJobs,
        jsonPatchStatus: async (n, name, ops) => {
          if (ops.some((o) => o.path === '/status/outbox/acknowledgedSeq')) {
            refused++;
            throw new KubeError(503, 'ServiceUnavailable', 'the process died before this write');
          }
          return real.ucloudJobs.jsonPatchStatus(n, name, ops);
        },
      },
    };
    const first = await startOperator({ config, kc: ns.kc, kube: dying });
    operators.push(first);
    const id = '9101';
    expect((await createJobs(stack, batchJob(id))).status).toBe(200);
    await runningPods(stack, id, 1);
    await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at Core');
    await exitPod(ns.kc, ns.name, podName(jobResourceName(id), 0), { code: 0 });
    await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at Core');
    expect(refused).toBeGreaterThan(0);
    await operators.splice(0)[0]!.stop();
    const left = await ns.kube.ucloudJobs.get(ns.name, jobResourceName(id));
    expect(acked(left)).toBe(0); // Core has both updates; the CR records none of them
    expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);

    const skippedBefore = core.skippedUpdates.filter((u) => u.id === id).length;
    operators.push(await startOperator({ config, kc: ns.kc }));
    const done = await crWhen(stack, id, (j) => acked(j) === lastSeq(j) && reported(j)?.status === 'True', 'the acknowledgement after the restart');
    // The resend went out (RUNNING and SUCCESS again, each conditional on the state it leaves) and
    // Core applied neither: the timeline stays RUNNING → SUCCESS, not back to RUNNING.
    const resent = core.skippedUpdates.filter((u) => u.id === id).slice(skippedBefore);
    expect(resent.map((u) => u.update.state)).toEqual(expect.arrayContaining(['RUNNING', 'SUCCESS']));
    expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
    expect(reported(done)).toMatchObject({ reason: 'Acknowledged' });
  });

  it('a Core outage loses nothing: Reported says what waits, and once Core is back every update arrives in order', async () => {
    const config = testConfig(ns.name, core, { accounting: { enabled: false }, reporting: { retryAttempts: 1 } });
    const stack = stackOf(config);
    operators.push(await startOperator({ config, kc: ns.kc }));
    const id = '9102';
    core.setFaults({ failRate: 1, statusOnFail: 503, calls: ['update'] });
    expect((await createJobs(stack, batchJob(id))).status).toBe(200);
    await runningPods(stack, id, 1);
    await exitPod(ns.kc, ns.name, podName(jobResourceName(id), 0), { code: 0 });
    const waiting = await crWhen(
      stack,
      id,
      (j) => j.status?.state === 'SUCCESS' && reported(j)?.status === 'False' && lastSeq(j) > acked(j),
      'SUCCESS decided, Reported False, during the outage',
    );
    expect(reported(waiting)).toMatchObject({ reason: 'UpdatesPending' });
    // Several failed attempts, with backoff between them: the outage outlasts the client's retries.
    await core.waitFor(() => core.faultsInjected >= 5, 90_000, 'five refused calls');
    expect(core.jobStates(id)).toEqual([]);

    core.setFaults({ failRate: 0 });
    await core.waitFor(() => core.jobStates(id).length === 2, 60_000, 'delivery after the outage');
    expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
    const done = await crWhen(stack, id, (j) => acked(j) === lastSeq(j) && reported(j)?.status === 'True', 'acknowledged after the outage');
    expect(reported(done)).toMatchObject({ reason: 'Acknowledged' });
  });

  it('a leader killed while Core has its batch but not its acknowledgements: the new leader finishes it, once per state at Core', async () => {
    const lease = 'ucloud-operator-leader';
    const start = (name: string) =>
      spawnReplica({
        name,
        namespace: ns.name,
        core,
        leaderElection: { leaseName: lease, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 },
        shutdownDeadlineMs: 20_000,
        config: { accounting: { enabled: false } },
      });
    procs.push(...(await Promise.all([start('rf-a'), start('rf-b')])));
    const holder = async () => (await ns.kube.leases.get(ns.name, lease))?.spec?.holderIdentity;
    const leaderName = await eventually(holder, 'a Lease holder');
    const leader = procs.find((p) => p.name === leaderName)!;
    await eventually(async () => (await (await fetch(`${leader.probeUrl}/readyz`)).text()) === 'ok: leader', 'the leader ready');

    // Core carries out every update call and its answer is lost: the leader's batches are all
    // in Core and none acknowledged when it dies.
    core.setFaults({ calls: ['update'], lostAnswerRate: 1 });
    const ids = ['9111', '9112', '9113'];
    const res = await core.callProvider(leader.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, { items: ids.map((id) => specJob(id)) });
    expect(res.status).toBe(200);
    await core.waitFor(() => ids.every((id) => core.jobStates(id).includes('RUNNING')), 60_000, 'RUNNING of every job at Core');
    // One of them ends while the answers are still lost: Core has its SUCCESS too, so a resend of
    // RUNNING that Core applied would walk its timeline back.
    await exitPod(ns.kc, ns.name, podName(jobResourceName(ids[0]!), 0), { code: 0 });
    await core.waitFor(() => core.jobStates(ids[0]!).includes('SUCCESS'), 60_000, 'SUCCESS at Core');
    for (const id of ids) expect(acked(await ns.kube.ucloudJobs.get(ns.name, jobResourceName(id)))).toBe(0);

    leader.kill('SIGKILL');
    await leader.exited;
    const skippedBefore = core.skippedUpdates.length;
    core.setFaults({ lostAnswerRate: 0 });
    await eventually(async () => (await holder()) !== leaderName && (await holder()), 'the new leader', 60_000);
    for (const id of ids) {
      await eventually(
        async () => {
          const j = await ns.kube.ucloudJobs.get(ns.name, jobResourceName(id));
          return acked(j) === lastSeq(j) && reported(j)?.status === 'True';
        },
        `${id} acknowledged by the new leader`,
        60_000,
      );
    }
    // The new leader resent what was unacknowledged; Core applied none of it a second time.
    expect(core.skippedUpdates.slice(skippedBefore).some((u) => u.id === ids[0] && u.update.state === 'RUNNING')).toBe(true);
    expect(core.jobStates(ids[0]!)).toEqual(['RUNNING', 'SUCCESS']);
    for (const id of ids.slice(1)) expect(core.jobStates(id)).toEqual(['RUNNING']);
  });
});
