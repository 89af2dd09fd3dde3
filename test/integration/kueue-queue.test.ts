// A full cluster makes jobs wait their turn with Kueue as the gang backend (docs/adr/0025): Kueue
// v0.17 built from its Go module runs against the test control plane (scripts/kueue-up; this is
// the only test file that starts it, and it stops it and removes its CRDs afterwards). The
// operator owns a Workload per job and creates a job's pods only once Kueue admits it. A
// ClusterQueue whose quota fits exactly two 4-rank jobs, on four kwok nodes that hold exactly two
// (test/support/gang-cluster.ts, shared with gang-queue.test.ts): ten 4-rank jobs submitted at
// once all end SUCCESS; sampled all along, no partial gang ever holds a node; every job that
// waited told UCloud/Core why, in Kueue's words, before it ran; retrieveProducts says FULL while the
// nodes are full and AVAILABLE after; nothing is charged for the wait. And the project → LocalQueue
// mapping: jobs of two projects go to their projects' queues.
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { memoryQuantity, rankDimensions } from '../../src/controller/desired/sizing.js';
import { createGangNodes, expectWaitedAndUncharged, GANG_JOBS, GANG_RANKS, queueStatusOf, sampleGangs, type GangNodes } from '../support/gang-cluster.js';
import { eventually, startStack, TEST_PRODUCTS, testKubeConfig, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs } from '../support/jobs.js';
import { KueueAdmin, startKueue, stopKueue } from '../support/kueue.js';
import { EXIT_AFTER } from '../support/workload.js';

const SECOND = 1000;
const RUN = '4s';
const PRODUCT = TEST_PRODUCTS[0]; // example-compute-1
const FLAVOR_LABEL = 'ucloud.dk/kueue-flavor';

describe('Kueue as the gang backend', () => {
  const tag = randomBytes(4).toString('hex');
  const admin = new KueueAdmin(testKubeConfig());
  let stack: TestStack;
  let nodes: GangNodes;

  beforeAll(async () => {
    startKueue();
    nodes = await createGangNodes(tag, { [FLAVOR_LABEL]: tag });
    stack = await startStack({
      ...nodes.placement,
      jobs: {
        gang: { backend: 'kueue', kueue: { queueName: 'ucloud', projectQueueName: 'project-{project}' } },
        podAnnotations: { [EXIT_AFTER]: RUN },
        ephemeralStorage: { default: '1Gi' },
      },
      // settleSeconds as in production, scaled to 1 s periods: a running job's window is billed only once
      // the caches can no longer show it running past its whole-second end (else a pass may bill one period more).
      accounting: { intervalSeconds: 1, minuteMillis: SECOND, settleSeconds: 2 },
    });
    // As a site would set Kueue up: one flavor for these nodes, a ClusterQueue whose quota is
    // exactly two 4-rank jobs of example-compute-1 (8 ranks, as the rank pods request them), and
    // the LocalQueues the operator's mapping names.
    const ranks = 2 * GANG_RANKS;
    const rank = rankDimensions(PRODUCT, stack.config);
    await admin.flavor(`gang-${tag}`, { [FLAVOR_LABEL]: tag });
    await admin.clusterQueue(
      `gang-${tag}`,
      `gang-${tag}`,
      { cpu: `${ranks * rank.cpuRequestMillis}m`, memory: memoryQuantity(ranks * PRODUCT.memoryInGigs, stack.config), 'ephemeral-storage': `${ranks}Gi` },
      [stack.ns.name],
    );
    for (const queue of ['ucloud', 'project-alpha', 'project-beta']) await admin.localQueue(stack.ns.name, queue, `gang-${tag}`);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await admin.cleanUp();
    await nodes?.remove();
    stopKueue();
  }, 180_000);

  it('ten 4-rank jobs all end SUCCESS, no partial gang holds a node, waiting is reported in Kueue words and never charged', async () => {
    const { core, ns } = stack;
    const ids = Array.from({ length: GANG_JOBS }, (_, i) => String(72000 + i));
    expect(await queueStatusOf(stack, PRODUCT.id)).toBe('AVAILABLE');
    const sampler = sampleGangs(ns);

    const submittedAt = Date.now();
    const res = await createJobs(stack, ...ids.map((id) => batchJob(id, { replicas: GANG_RANKS })));
    expect(res.status).toBe(200);

    // The Workload: one pod set of all four ranks, in the mapped LocalQueue, owned by the job.
    const first = await eventually(() => ns.kube.workloads.get(ns.name, jobResourceName(ids[0]!)), "the first job's Workload");
    expect(first.spec.queueName).toBe('ucloud');
    expect(first.spec.podSets.map((p) => [p.name, p.count])).toEqual([['main', GANG_RANKS]]);
    expect(first.metadata.ownerReferences?.[0]?.kind).toBe('UCloudJob');

    // While two jobs hold every node: FULL. The admitted jobs' pods carry the flavor's node label.
    await eventually(async () => (await queueStatusOf(stack, PRODUCT.id)) === 'FULL', 'queueStatus FULL while the nodes are full', 60_000);
    const admittedPods = (await ns.kube.pods.list(ns.name, 'ucloud.dk/job')).items;
    expect(admittedPods.length).toBeGreaterThan(0);
    for (const p of admittedPods as V1Pod[]) expect(p.spec?.nodeSelector?.[FLAVOR_LABEL]).toBe(tag);

    for (const id of ids) await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 240_000, `job ${id} SUCCESS`);
    const sampled = await sampler.stop();

    for (const id of ids) expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
    expect(sampled.samples).toBeGreaterThan(50);
    expect(sampled.held).toEqual([]);

    const queued = await expectWaitedAndUncharged(stack, ids, submittedAt, /^Waiting for Kueue admission in queue ucloud/);
    // Quota for two at a time: at least the eight after the first two waited, and said so; Kueue
    // said why (its QuotaReserved=False message) for at least one of them.
    expect(queued.length).toBeGreaterThanOrEqual(GANG_JOBS - 2);
    const reasons = core.updates.filter((u) => ids.includes(u.id) && u.update.status?.startsWith('Waiting for Kueue')).map((u) => u.update.status!);
    expect(reasons.some((r) => /insufficient unused quota/.test(r))).toBe(true);

    await eventually(async () => (await queueStatusOf(stack, PRODUCT.id)) === 'AVAILABLE', 'queueStatus AVAILABLE after', 60_000);
    // Teardown deletes the Workloads with the pods.
    await eventually(async () => (await ns.kube.workloads.list(ns.name)).items.length === 0, 'every Workload deleted', 60_000);
    process.stdout.write(
      `kueue-queue: ${sampled.samples} samples (${sampled.inFlight} between bind calls), queued ${queued.map((q) => `${q.id} ${(q.waitedMs / 1000).toFixed(1)}s ("${q.first}")`).join('; ')}\n`,
    );
  }, 360_000);

  it("sends each project's jobs to its project's LocalQueue", async () => {
    const { core, ns } = stack;
    const inProject = (id: string, project: string) => {
      const job = batchJob(id) as { owner: { project: string | null } };
      job.owner.project = project;
      return job;
    };
    const res = await createJobs(stack, inProject('72100', 'alpha'), inProject('72101', 'beta'));
    expect(res.status).toBe(200);
    const queueOf = async (id: string) => (await eventually(() => ns.kube.workloads.get(ns.name, jobResourceName(id)), `Workload of ${id}`)).spec.queueName;
    expect(await queueOf('72100')).toBe('project-alpha');
    expect(await queueOf('72101')).toBe('project-beta');
    for (const id of ['72100', '72101']) await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 120_000, `job ${id} SUCCESS`);
  }, 180_000);
});
