// The accounting proof on the real control plane: a 2-rank job runs for a number of
// one-second "minutes" (accounting.minuteMillis = 1000, one window per minute) while the operator
// is stopped and started again twice and UCloud/Core fails some chargeCredits calls outright and
// carries out others whose answer is then lost (so the operator resends them). In the end
// UCloud/Core has been charged exactly the whole periods the job really ran, every window's
// chargeId once, with identical resends only (ADR 0005).
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { startOperator, type RunningOperator } from '../../src/operator.js';
import { createTestNamespace, eventually, testConfig, type TestNamespace, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, noPodsLeft, runningPods, terminate } from '../support/jobs.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';

const T = 180_000;
const MINUTE = 1000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('accounting across operator restarts and lost chargeCredits answers', () => {
  let ns: TestNamespace;
  let core: UCloudCoreEmulator;
  let operator: RunningOperator | undefined;
  beforeAll(async () => {
    ns = await createTestNamespace();
    core = await UCloudCoreEmulator.start({ providerId: 'example' });
  }, T);
  afterAll(async () => {
    await operator?.stop();
    await core?.close();
    await ns?.delete();
  }, T);

  it(
    'charges sum to the real running time, each window once, whatever was lost or restarted',
    async () => {
      const config = testConfig(ns.name, core, { accounting: { intervalSeconds: 1, minuteMillis: MINUTE } });
      const start = () => startOperator({ config, kc: ns.kc });
      operator = await start();
      // A stack-shaped view for the helpers; `operator` changes across restarts.
      const stack = {
        ns,
        core,
        config,
        logs: [],
        get operator() {
          return operator!;
        },
        stop: async () => undefined,
      } as unknown as TestStack;
      const id = '6001';
      const charges = () => core.charges.filter((c) => c.item.id === id);
      const distinct = () => new Set(charges().map((c) => c.item.chargeId));

      expect((await createJobs(stack, batchJob(id, { replicas: 2 }))).status).toBe(200);
      const pods = await runningPods(stack, id, 2);
      // When the last rank's container started: the real start of the job (and of its billing).
      const realStart = Math.max(...pods.map((p) => Date.parse(String(p.status!.containerStatuses![0]!.state!.running!.startedAt))));

      // Phase 1: every answer is lost after Core booked the charge, so each window goes out again.
      core.setFaults({ calls: ['chargeCredits'], lostAnswerRate: 1, seed: 11 });
      await core.waitFor(() => charges().length >= 3, 60_000, 'charges whose answers were lost');
      // Phase 2: some calls fail before Core does anything, some answers are lost, the rest get through.
      core.setFaults({ lostAnswerRate: 0.25, failRate: 0.25 });
      await core.waitFor(() => distinct().size >= 3, 60_000, 'three windows charged');

      // Restarts: the job keeps running while no operator is there; the windows it ran meanwhile
      // are charged by the next operator from what the CR says.
      for (let i = 0; i < 2; i++) {
        await operator.stop();
        operator = undefined;
        const before = distinct().size;
        await pause(2500);
        expect(distinct().size).toBe(before);
        operator = await start();
        await core.waitFor(() => distinct().size >= before + 3, 60_000, `windows charged after restart ${i + 1}`);
      }

      expect(await terminate(stack, id)).toEqual({ status: 200, body: { responses: [{}] } });
      const done = await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS', 'SUCCESS in the CR');
      const startedAt = Date.parse(done.status!.startedAt!);
      const finishedAt = Date.parse(done.status!.finishedAt!);
      expect(startedAt).toBe(realStart);
      expect(finishedAt).toBe(Date.parse(done.spec.terminationRequestedAt!));
      const periods = Math.ceil((finishedAt - startedAt) / MINUTE);
      expect(periods).toBeGreaterThanOrEqual(8);

      // The last window is charged once the job has ended; the watermark in the CR says so.
      core.setFaults({ lostAnswerRate: 0, failRate: 0 });
      const settled = await crWhen(stack, id, (j) => j.status?.accounting?.chargedPeriods === periods, 'the final watermark');
      await noPodsLeft(stack, id);

      // Core's view, under both of its semantics (overwrite by chargeId, or ignore a repeated one).
      expect(core.chargedPeriods(id)).toBe(periods);
      const firstSeen = new Map<string, number>();
      for (const c of charges()) if (!firstSeen.has(c.item.chargeId)) firstSeen.set(c.item.chargeId, c.item.periods);
      expect([...firstSeen.values()].reduce((a, b) => a + b, 0)).toBe(periods);
      expect(core.conflictingCharges()).toEqual([]);
      // Exactly one window per period, aligned to the start: no gap, no overlap, nothing extra.
      const expectedIds = Array.from({ length: periods }, (_, k) => `${id}_${startedAt + k * MINUTE}`);
      expect([...firstSeen.keys()].sort()).toEqual([...expectedIds].sort());
      expect(charges().every((c) => c.item.units === 2 && c.item.periods === 1)).toBe(true);
      expect(settled.status?.accounting?.lastChargeId).toBe(expectedIds[expectedIds.length - 1]);
      // The faults really struck: some chargeIds reached Core more than once, some calls failed.
      expect(charges().length).toBeGreaterThan(firstSeen.size);
      expect(core.faultsInjected).toBeGreaterThan(0);

      // Nothing more is charged for a job that has ended (once the operator's own cache has the
      // watermark: a pass just before that may still resend the last window, identically).
      await eventually(
        () => operator!.controller!.jobs.get(ns.name, jobResourceName(id))?.status?.accounting?.chargedPeriods === periods,
        "the watermark in the operator's cache",
      );
      await pause(1500);
      const count = charges().length;
      await pause(2500);
      expect(charges().length).toBe(count);
      expect((await ns.kube.ucloudJobs.get(ns.name, jobResourceName(id)))?.status?.accounting?.chargedPeriods).toBe(periods);
    },
    T,
  );
});
