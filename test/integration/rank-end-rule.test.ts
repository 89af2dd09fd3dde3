// The rank-end rule (jobs.rankEndRule, docs/adr/0021) on the real control plane: under `first`
// (IM2's rule, the default) a 2-rank job whose rank 1 keeps running ends when rank 0 ends, rank 1
// is stopped, and the job is charged up to rank 0's end and not a period more; under `all` the same
// job keeps running (and billing) until rank 1 ends too. kwok plays the kubelet: a pod runs until
// the test scripts its exit, so rank 1 "sleeps" for as long as the test lets it.
import { podName } from '../../src/api/v1alpha1/names.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, noPodsLeft, runningPods } from '../support/jobs.js';
import { stackStoppedAfterEach } from '../support/stack-hooks.js';
import { exitPod } from '../support/workload.js';

const T = 120_000;
/** One price minute lasts a second here, so a few seconds of running are a few charged periods. */
const MINUTE_MS = 1000;
const accounting = { intervalSeconds: 1, minuteMillis: MINUTE_MS, settleSeconds: 0 };

describe('the rank-end rule', () => {
  const startStack = stackStoppedAfterEach(T);

  it(
    'under first, a 2-rank job whose rank 1 sleeps ends when rank 0 ends, and is charged until then',
    async () => {
      const stack = await startStack({ accounting });
      expect(stack.config.jobs.rankEndRule).toBe('first');
      const { core, ns } = stack;
      const id = '71001';
      expect((await createJobs(stack, batchJob(id, { replicas: 2 }))).status).toBe(200);
      await runningPods(stack, id, 2);
      await core.waitFor(() => core.chargedPeriods(id) >= 2, 60_000, 'charges while both ranks run');

      await exitPod(ns.kc, ns.name, podName(`j-${id}`, 0), { code: 0 });
      await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at UCloud/Core');
      expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
      expect(core.updates.find((u) => u.id === id && u.update.state === 'SUCCESS')?.update.status).toBe(
        'The job finished when rank 0 exited with code 0; the other ranks were stopped',
      );
      // Rank 1, still running, is stopped with the job.
      await noPodsLeft(stack, id);

      // Charged for the time until rank 0 ended: every period up to finishedAt, rounded up, no more.
      const done = await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS' && j.status.accounting !== undefined, 'SUCCESS in the CR');
      const ran = Date.parse(done.status!.finishedAt!) - Date.parse(done.status!.startedAt!);
      const periods = Math.max(1, Math.ceil(ran / MINUTE_MS));
      await core.waitFor(() => core.chargedPeriods(id) === periods, 30_000, `${periods} periods charged in all`);
      // A few more price minutes pass: rank 1 no longer runs, so nothing more is charged.
      await new Promise((r) => setTimeout(r, 3 * MINUTE_MS));
      expect(core.chargedPeriods(id)).toBe(periods);
      expect(core.conflictingCharges()).toEqual([]);
      expect(core.charges.filter((c) => c.item.id === id).every((c) => c.item.units === 2)).toBe(true);
    },
    T,
  );

  it(
    'under all, the same job keeps running after rank 0 ends, until rank 1 ends too',
    async () => {
      const stack = await startStack({ accounting, jobs: { rankEndRule: 'all' } });
      const { core, ns } = stack;
      const id = '71002';
      expect((await createJobs(stack, batchJob(id, { replicas: 2 }))).status).toBe(200);
      await runningPods(stack, id, 2);
      await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at UCloud/Core');

      await exitPod(ns.kc, ns.name, podName(`j-${id}`, 0), { code: 0 });
      const finishing = await crWhen(stack, id, (j) => /finishing/.test(j.status?.message ?? ''), 'the job to be finishing');
      expect(finishing.status?.state).toBe('RUNNING');
      const chargedThen = core.chargedPeriods(id);
      await core.waitFor(() => core.chargedPeriods(id) > chargedThen, 30_000, 'rank 1 still billing');
      expect(core.jobStates(id)).toEqual(['RUNNING']);

      await exitPod(ns.kc, ns.name, podName(`j-${id}`, 1), { code: 0 });
      await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at UCloud/Core');
      expect(core.updates.find((u) => u.id === id && u.update.state === 'SUCCESS')?.update.status).toBe('The job finished: all 2 ranks exited with code 0');
      await noPodsLeft(stack, id);
    },
    T,
  );
});
