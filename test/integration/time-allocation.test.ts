// Time allocation on the real control plane: the operator (not the pod's
// activeDeadlineSeconds, which can only be lowered) ends a job at startedAt + timeAllocation and
// reports EXPIRED; extend moves the deadline and reports newTimeAllocation first.
import { useStack } from '../support/stack-hooks.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, extend, noPodsLeft, runningPods } from '../support/jobs.js';

describe('time allocation', () => {
  const stack = useStack('each');

  it('a job that outlives its allocation is stopped and reported EXPIRED at startedAt + allocation', async () => {
    const { core } = stack();
    const id = '7001';
    expect((await createJobs(stack(), batchJob(id, { replicas: 2, timeAllocationSeconds: 3 }))).status).toBe(200);
    await runningPods(stack(), id, 2);
    const running = await crWhen(stack(), id, (j) => j.status?.state === 'RUNNING', 'RUNNING in the CR');
    expect(Date.parse(running.status!.expiresAt!)).toBe(Date.parse(running.status!.startedAt!) + 3000);

    await core.waitFor(() => core.jobStates(id).includes('EXPIRED'), 60_000, 'EXPIRED at UCloud/Core');
    expect(core.jobStates(id)).toEqual(['RUNNING', 'EXPIRED']);
    const done = await crWhen(stack(), id, (j) => j.status?.state === 'EXPIRED', 'EXPIRED in the CR');
    // The job ended at its deadline, whenever the reconciler got to it: billing stops there.
    expect(done.status?.finishedAt).toBe(done.status?.expiresAt);
    expect(done.status?.message).toBe('Job exceeded its time allocation');
    await noPodsLeft(stack(), id);
  }, 120_000);

  it('extend moves the deadline: newTimeAllocation is reported, and the job expires at the new deadline', async () => {
    const { core } = stack();
    const id = '7002';
    expect((await createJobs(stack(), batchJob(id, { timeAllocationSeconds: 4 }))).status).toBe(200);
    await runningPods(stack(), id, 1);
    const running = await crWhen(stack(), id, (j) => j.status?.state === 'RUNNING', 'RUNNING in the CR');
    const startedAt = Date.parse(running.status!.startedAt!);

    expect(await extend(stack(), id, 3)).toEqual({ status: 200, body: { responses: [{}] } });
    const extended = await crWhen(stack(), id, (j) => j.status?.expiresAt !== running.status?.expiresAt, 'the new deadline in the CR');
    expect(extended.spec.timeAllocationMillis).toBe(7000);
    expect(Date.parse(extended.status!.expiresAt!)).toBe(startedAt + 7000);
    await core.waitFor(() => core.updates.some((u) => u.id === id && u.update.newTimeAllocation === 7000), 30_000, 'newTimeAllocation at UCloud/Core');

    await core.waitFor(() => core.jobStates(id).includes('EXPIRED'), 60_000, 'EXPIRED at UCloud/Core');
    expect(core.jobStates(id)).toEqual(['RUNNING', 'EXPIRED']);
    // Order at Core: RUNNING, then the new allocation, then EXPIRED; never EXPIRED at the old deadline.
    const mine = core.updates.filter((u) => u.id === id);
    const at = (pred: (u: (typeof mine)[number]) => boolean) => mine.findIndex(pred);
    expect(at((u) => u.update.state === 'RUNNING')).toBeLessThan(at((u) => u.update.newTimeAllocation === 7000));
    expect(at((u) => u.update.newTimeAllocation === 7000)).toBeLessThan(at((u) => u.update.state === 'EXPIRED'));
    const done = await crWhen(stack(), id, (j) => j.status?.state === 'EXPIRED', 'EXPIRED in the CR');
    expect(Date.parse(done.status!.finishedAt!)).toBe(startedAt + 7000);
    await noPodsLeft(stack(), id);

    // A finished job cannot be extended, an unknown one neither; both say why, and write nothing.
    const before = await crWhen(stack(), id, () => true, 'the CR');
    const late = await extend(stack(), id, 60);
    expect(late.status).toBe(400);
    expect(late.body).toEqual({ why: expect.stringContaining('has ended'), errorCode: 'JOB_NOT_RUNNING' });
    const unknown = await extend(stack(), 'no-such-job', 60);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ why: expect.stringContaining('unknown job no-such-job'), errorCode: 'UNKNOWN_JOB' });
    const after = await crWhen(stack(), id, () => true, 'the CR');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec).toEqual(before.spec);
    expect((await stack().ns.kube.ucloudJobs.list(stack().ns.name)).items).toHaveLength(1);
  }, 120_000);
});
