// A full cluster makes jobs wait their turn, never fail (docs/adr/0025), with Kubernetes' native
// gang scheduling (PodGroup, scheduling.k8s.io/v1alpha2, enabled by scripts/cluster-up): four kwok
// nodes of this test's own, tainted so no other test's pod lands there, hold exactly two 4-rank
// jobs. Ten 4-rank jobs submitted at once all end SUCCESS; sampled all along, no job ever has some
// ranks on nodes while others wait; every job that waited told UCloud/Core why ("Waiting for 4 ×
// example-compute-1; N jobs ahead") before it ran, in the order it came; and no charge covers
// time a job spent waiting. The set-up and checks are shared with kueue-queue.test.ts
// (test/support/gang-cluster.ts).
import { randomBytes } from 'node:crypto';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { createGangNodes, expectWaitedAndUncharged, GANG_JOBS as JOBS, GANG_RANKS as RANKS, sampleGangs, type GangNodes } from '../support/gang-cluster.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, cr } from '../support/jobs.js';
import { EXIT_AFTER } from '../support/workload.js';

const SECOND = 1000;
const RUN = '4s';

describe('ten 4-rank jobs on a cluster that holds two', () => {
  let stack: TestStack;
  let nodes: GangNodes;

  beforeAll(async () => {
    nodes = await createGangNodes(randomBytes(4).toString('hex'));
    stack = await startStack({
      ...nodes.placement,
      jobs: { gang: { backend: 'auto' }, podAnnotations: { [EXIT_AFTER]: RUN }, ephemeralStorage: { default: '1Gi' } },
      // settleSeconds as in production, scaled to 1 s periods: a running job's window is billed only once
      // the caches can no longer show it running past its whole-second end (else a pass may bill one period more).
      accounting: { intervalSeconds: 1, minuteMillis: SECOND, settleSeconds: 2 },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await nodes?.remove();
  }, 120_000);

  it('all end SUCCESS, no partial gang ever holds a node, waiting is reported with its reason and never charged', async () => {
    const { core, ns } = stack;
    const ids = Array.from({ length: JOBS }, (_, i) => String(71000 + i));
    const sampler = sampleGangs(ns);

    const submittedAt = Date.now();
    const res = await createJobs(stack, ...ids.map((id) => batchJob(id, { replicas: RANKS })));
    expect(res.status).toBe(200);

    // The PodGroup is a gang of all four ranks, owned by the job.
    const pg = await eventually(() => ns.kube.podGroups.get(ns.name, jobResourceName(ids[0]!)), "the first job's PodGroup");
    expect(pg.spec.schedulingPolicy).toEqual({ gang: { minCount: RANKS } });
    expect(pg.metadata.ownerReferences?.[0]?.kind).toBe('UCloudJob');

    for (const id of ids) await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 180_000, `job ${id} SUCCESS`);
    const sampled = await sampler.stop();

    // Every job ran and succeeded; none failed for want of room.
    for (const id of ids) expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
    // Sampled all along: never a partial gang holding nodes.
    expect(sampled.samples).toBeGreaterThan(50);
    expect(sampled.held).toEqual([]);

    // Why each waited, told to Core before it ran; nothing charged for the wait.
    const queued = await expectWaitedAndUncharged(stack, ids, submittedAt, /^Waiting for 4 × example-compute-1; /);
    // Room for two jobs at a time: at least the eight after the first two had to wait, and said so.
    expect(queued.length).toBeGreaterThanOrEqual(JOBS - 2);
    // First come, first served: jobs were placed (every rank on a node) in the order of their
    // UCloudJobs' creation (the adapter writes a batch's jobs concurrently; equal seconds are
    // ordered by name). Placement, not startedAt: two gangs placed together (the first two, or
    // two freed at once) start when kwok's pods report Running, in either order.
    const jobs = await Promise.all(ids.map(async (id) => (await cr(stack, id))!));
    const arrival = [...jobs].sort(
      (a, b) =>
        Date.parse(String(a.metadata.creationTimestamp)) - Date.parse(String(b.metadata.creationTimestamp)) || (a.metadata.name < b.metadata.name ? -1 : 1),
    );
    const placed = arrival.map((j) => sampled.placedAt.get(j.metadata.name));
    expect(placed.every((t) => t !== undefined)).toBe(true);
    expect([...placed].sort((a, b) => a! - b!)).toEqual(placed);
    // The figures, for the record.
    process.stdout.write(
      `gang-queue: ${sampled.samples} samples (${sampled.inFlight} between a gang's bind calls), queued ${queued.map((q) => `${q.id} ${(q.waitedMs / 1000).toFixed(1)}s ("${q.first}")`).join('; ')}\n`,
    );
    // Teardown removes the PodGroups with the pods.
    await eventually(async () => (await ns.kube.podGroups.list(ns.name)).items.length === 0, 'every PodGroup deleted', 60_000);
  }, 300_000);
});
