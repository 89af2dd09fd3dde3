// On the real control plane: terminate mid-run stops every rank and reports SUCCESS;
// a job UCloud/Core reports as out of credits (chargeCredits' insufficientFunds) is stopped at
// once and reported SUCCESS "terminated (no credits)", as the spec's accounting example does.
import { startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { boundSharedClaim, createJobs, crWhen, deletePersistentVolume, noPodsLeft, runningPods, terminate } from '../support/jobs.js';

const T = 120_000;

describe('stopping a running job', () => {
  let stack: TestStack | undefined;
  const claims: Array<{ kc: TestStack['ns']['kc']; ns: string; claim: string }> = [];
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
    for (const c of claims.splice(0)) await deletePersistentVolume(c.kc, c.ns, c.claim);
  }, T);

  it(
    'terminate mid-run: every rank is stopped, SUCCESS "terminated by the user", a repeat is a no-op',
    async () => {
      // /work on a claim that UCloud users see as /work-drive/jobs: the job's folder is its outputFolder.
      stack = await startStack({ jobs: { workVolume: { type: 'pvc', claimName: 'work', subPathPrefix: 'jobs', ucloudPath: '/work-drive/jobs' } } });
      await boundSharedClaim(stack.ns.kc, stack.ns.name, 'work');
      claims.push({ kc: stack.ns.kc, ns: stack.ns.name, claim: 'work' });
      const { core } = stack;
      const id = '8001';
      expect((await createJobs(stack, batchJob(id, { replicas: 2 }))).status).toBe(200);
      const pods = await runningPods(stack, id, 2);
      expect(pods[0]!.spec?.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/work')?.subPath).toBe(`jobs/${id}`);
      await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at UCloud/Core');
      expect(core.updates.find((u) => u.id === id && u.update.state === 'RUNNING')?.update.outputFolder).toBe(`/work-drive/jobs/${id}`);

      expect(await terminate(stack, id)).toEqual({ status: 200, body: { responses: [{}] } });
      await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at UCloud/Core');
      expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
      expect(core.updates.find((u) => u.id === id && u.update.state === 'SUCCESS')?.update.status).toBe('Job was terminated by the user');
      await noPodsLeft(stack, id);
      const done = await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS', 'SUCCESS in the CR');
      // Billing ends when the user asked, not when the reconciler got round to it.
      expect(done.status?.finishedAt).toBe(done.spec.terminationRequestedAt);

      // A second terminate (UCloud/Core retries) changes nothing.
      expect((await terminate(stack, id)).status).toBe(200);
      const again = await crWhen(stack, id, () => true, 'the CR');
      expect(again.spec).toEqual(done.spec);
      expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
    },
    T,
  );

  it(
    'insufficient funds: the first charge says so and the job is stopped with SUCCESS "terminated (no credits)"',
    async () => {
      // One-second "minutes" and windows, so the first charge is due a second after the start.
      stack = await startStack({ accounting: { intervalSeconds: 1, minuteMillis: 1000 } });
      const { core } = stack;
      const id = '8002';
      core.setInsufficientFunds([id]);
      expect((await createJobs(stack, batchJob(id, { replicas: 2 }))).status).toBe(200);
      await runningPods(stack, id, 2);

      await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at UCloud/Core');
      expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
      expect(core.updates.find((u) => u.id === id && u.update.state === 'SUCCESS')?.update.status).toBe('terminated (no credits)');
      await noPodsLeft(stack, id);
      const done = await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS', 'SUCCESS in the CR');
      expect(done.status?.insufficientFunds).toBe(true);
      expect(done.status?.conditions?.find((c) => c.type === 'Finished')?.reason).toBe('InsufficientFunds');
      // What ran was charged, in whole one-second periods, each window once.
      await core.waitFor(
        () => core.chargedPeriods(id) === Math.ceil((Date.parse(done.status!.finishedAt!) - Date.parse(done.status!.startedAt!)) / 1000),
        30_000,
        'the final charge',
      );
      expect(core.conflictingCharges()).toEqual([]);
    },
    T,
  );

  it(
    'checkCreditsBeforeStart: a job without credits never starts a pod',
    async () => {
      stack = await startStack({ accounting: { checkCreditsBeforeStart: true } });
      const { core, ns } = stack;
      const id = '8003';
      core.setInsufficientFunds([id]);
      expect((await createJobs(stack, batchJob(id))).status).toBe(200);
      await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at UCloud/Core');
      expect(core.jobStates(id)).toEqual(['SUCCESS']);
      expect(core.updates.find((u) => u.id === id && u.update.state === 'SUCCESS')?.update.status).toBe('terminated (no credits)');
      expect(core.calls.some((c) => c.path.endsWith('/checkCredits'))).toBe(true);
      expect(core.charges.filter((c) => c.item.id === id)).toEqual([]);
      expect((await ns.kube.pods.list(ns.name)).items).toEqual([]);
    },
    T,
  );
});
