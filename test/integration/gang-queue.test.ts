// A full cluster makes jobs wait their turn, never fail (docs/adr/0025), with Kubernetes' native
// gang scheduling (PodGroup, scheduling.k8s.io/v1alpha2, enabled by scripts/cluster-up): four kwok
// nodes of this test's own, tainted so no other test's pod lands there, hold exactly two 4-rank
// jobs. Ten 4-rank jobs submitted at once all end SUCCESS; sampled all along, no job ever has some
// ranks on nodes while others wait; every job that waited told UCloud/Core why ("Waiting for 4 ×
// example-compute-1; N jobs ahead") before it ran, in the order it came; and no charge covers
// time a job spent waiting.
import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, cr } from '../support/jobs.js';
import { EXIT_AFTER } from '../support/workload.js';

const JOBS = 10;
const RANKS = 4;
const NODES = 4;
const SECOND = 1000;
const RUN = '4s';

describe('ten 4-rank jobs on a cluster that holds two', () => {
  let stack: TestStack;
  let nodeNames: string[] = [];
  const taint = 'ucloud.dk/gang-test';

  beforeAll(async () => {
    const probe = await startStack(); // only for its namespace name: the nodes carry it
    const ns = probe.ns.name;
    await probe.stop();
    const core = probe.ns.kc.makeApiClient(CoreV1Api);
    nodeNames = Array.from({ length: NODES }, (_, i) => `kwok-gang-${ns}-${i}`);
    // Each node holds two ranks of example-compute-1 (1 CPU, 2 GiB): 2 CPUs, 4 GiB.
    for (const name of nodeNames) {
      const node: V1Node = {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { 'kubernetes.io/hostname': name, type: 'kwok', [taint]: ns },
        },
        spec: { providerID: `kwok://${name}`, taints: [{ key: taint, value: ns, effect: 'NoSchedule' }] },
        status: {
          allocatable: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '1Ti' },
          capacity: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '1Ti' },
        },
      };
      await core.createNode({ body: node });
    }
    await eventually(async () => {
      const nodes = await Promise.all(nodeNames.map((name) => core.readNode({ name })));
      return nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 'the gang nodes Ready');
    stack = await startStack({
      // Only these nodes: a selector on their label, a toleration of their taint.
      useMachineSelector: false,
      categories: { 'example-compute': { nodeSelector: { [taint]: ns }, tolerations: [{ key: taint, operator: 'Equal', value: ns, effect: 'NoSchedule' }] } },
      jobs: { gang: { backend: 'auto' }, podAnnotations: { [EXIT_AFTER]: RUN }, ephemeralStorage: { default: '1Gi' } },
      accounting: { intervalSeconds: 1, minuteMillis: SECOND, settleSeconds: 0 },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    const core = stack?.ns.kc.makeApiClient(CoreV1Api);
    for (const name of nodeNames) await core?.deleteNode({ name }).catch(() => undefined);
  }, 120_000);

  it('all end SUCCESS, no partial gang ever holds a node, waiting is reported with its reason and never charged', async () => {
    const { core, ns } = stack;
    const ids = Array.from({ length: JOBS }, (_, i) => String(71000 + i));
    const samples: Array<{ at: number; partial: Map<string, string> }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = (await ns.kube.pods.list(ns.name, 'ucloud.dk/job')).items.filter((p: V1Pod) => !p.metadata?.deletionTimestamp);
        const byJob = new Map<string, V1Pod[]>();
        for (const p of pods) byJob.set(p.metadata!.labels!['ucloud.dk/job']!, [...(byJob.get(p.metadata!.labels!['ucloud.dk/job']!) ?? []), p]);
        // A partial gang: some of a job's ranks on nodes while another of its ranks waits for one
        // (or has no pod yet). Ranks that ended are on their node still; teardown pods are left out.
        const partial = [...byJob].filter(([, ps]) => {
          const bound = ps.filter((p) => p.spec?.nodeName).length;
          return bound > 0 && bound < RANKS && ps.some((p) => p.status?.phase === 'Pending' || !p.spec?.nodeName);
        });
        const boundSet = (ps: V1Pod[]) =>
          ps
            .filter((p) => p.spec?.nodeName)
            .map((p) => `${p.metadata?.name}@${p.spec?.nodeName}`)
            .sort()
            .join(',');
        samples.push({ at: Date.now(), partial: new Map(partial.map(([j, ps]) => [j, boundSet(ps)])) });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const submittedAt = Date.now();
    const res = await createJobs(stack, ...ids.map((id) => batchJob(id, { replicas: RANKS })));
    expect(res.status).toBe(200);

    // The PodGroup is a gang of all four ranks, owned by the job.
    const pg = await eventually(() => ns.kube.podGroups.get(ns.name, jobResourceName(ids[0]!)), "the first job's PodGroup");
    expect(pg.spec.schedulingPolicy).toEqual({ gang: { minCount: RANKS } });
    expect(pg.metadata.ownerReferences?.[0]?.kind).toBe('UCloudJob');

    for (const id of ids) await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 180_000, `job ${id} SUCCESS`);
    sampling = false;
    await sampler;

    // Every job ran and succeeded; none failed for want of room.
    for (const id of ids) expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
    // Sampled all along: never a partial gang holding nodes. The scheduler decides a gang at once
    // and then binds its pods with one API call each, so a sample can fall between two of those
    // calls; a gang that holds nodes while waiting for room stays partial, unchanged, until a job
    // ends (seconds). So: no job seen partial with the same ranks bound in samples a second apart.
    expect(samples.length).toBeGreaterThan(50);
    const held: string[] = [];
    for (const [i, s] of samples.entries()) {
      for (const [job, bound] of s.partial) {
        const later = samples.slice(i + 1).find((x) => x.at - s.at >= SECOND);
        if (later && samples.slice(i + 1, samples.indexOf(later) + 1).every((x) => x.partial.get(job) === bound)) held.push(`${job} holds ${bound}`);
      }
    }
    expect(held).toEqual([]);
    const inFlight = samples.filter((s) => s.partial.size).length;

    // Why each waited, told to Core before it ran; nothing charged for the wait.
    const queued: Array<{ id: string; waitedMs: number; first: string }> = [];
    for (const id of ids) {
      const updates = core.updates.filter((u) => u.id === id);
      const running = updates.find((u) => u.update.state === 'RUNNING')!;
      const waiting = updates.filter((u) => u.update.state === undefined && /^Waiting for 4 × example-compute-1; /.test(u.update.status ?? ''));
      const job = (await cr(stack, id))!;
      const startedAt = Date.parse(job.status!.startedAt!);
      const finishedAt = Date.parse(job.status!.finishedAt!);
      for (const w of waiting) expect(updates.indexOf(w)).toBeLessThan(updates.indexOf(running));
      if (waiting.length) queued.push({ id, waitedMs: startedAt - submittedAt, first: waiting[0]!.update.status! });
      // Charges: whole one-second periods of running time, windows from startedAt on, none before.
      const charges = core.charges.filter((c) => c.item.id === id);
      expect(charges.length).toBeGreaterThan(0);
      for (const c of charges) expect(Number(c.item.chargeId.split('_').at(-1))).toBeGreaterThanOrEqual(startedAt);
      // Per chargeId, as Core counts them (a resend of a window is the same charge).
      expect(core.chargedPeriods(id)).toBeLessThanOrEqual(Math.ceil((finishedAt - startedAt) / SECOND));
    }
    expect(core.conflictingCharges()).toEqual([]);
    // Room for two jobs at a time: at least the eight after the first two had to wait, and said so.
    expect(queued.length).toBeGreaterThanOrEqual(JOBS - 2);
    // First come, first served: jobs started in the order of their UCloudJobs' creation (the
    // adapter writes a batch's jobs concurrently; equal seconds are ordered by name).
    const jobs = await Promise.all(ids.map(async (id) => (await cr(stack, id))!));
    const arrival = [...jobs].sort(
      (a, b) =>
        Date.parse(String(a.metadata.creationTimestamp)) - Date.parse(String(b.metadata.creationTimestamp)) || (a.metadata.name < b.metadata.name ? -1 : 1),
    );
    const starts = arrival.map((j) => Date.parse(j.status!.startedAt!));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    // The figures, for the record.
    process.stdout.write(
      `gang-queue: ${samples.length} samples (${inFlight} between a gang's bind calls), queued ${queued.map((q) => `${q.id} ${(q.waitedMs / 1000).toFixed(1)}s ("${q.first}")`).join('; ')}\n`,
    );
    // Teardown removes the PodGroups with the pods.
    await eventually(async () => (await ns.kube.podGroups.list(ns.name)).items.length === 0, 'every PodGroup deleted', 60_000);
  }, 300_000);
});
