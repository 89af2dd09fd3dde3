// Multi-rank jobs on the real control plane: the spec's 3-rank example gets one pod per
// rank with the right /etc/ucloud view and the user's files, is IN_QUEUE until every rank runs,
// and one failing rank fails the job and stops the others (worst-rank rule, ADR 0004).
import { configMapName, podName, serviceName } from '../../src/api/v1alpha1/names.js';
import { rankViewOf } from '../../src/controller/desired/rank-files.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { batchJob, multiRankJob } from '../support/job-factory.js';
import { boundSharedClaim, createJobs, crWhen, deletePersistentVolume, noPodsLeft, runningPods } from '../support/jobs.js';
import { exitPod } from '../support/workload.js';

const CLAIM = 'shared-files';

describe('a 3-rank job', () => {
  let stack: TestStack;
  beforeEach(async () => {
    stack = await startStack({ jobs: { sharedStorage: { claimName: CLAIM }, vanishedPodGraceSeconds: 1 } });
    await boundSharedClaim(stack.ns.kc, stack.ns.name, CLAIM);
  });
  afterEach(async () => {
    await stack?.stop();
    await deletePersistentVolume(stack.ns.kc, stack.ns.name, CLAIM);
  }, 120_000);

  it('gives every rank its rank files and files, runs as one gang, and fails as a whole when one rank fails', async () => {
    const { core, ns } = stack;
    const id = '61207';
    const name = 'j-61207';
    expect(await createJobs(stack, multiRankJob())).toEqual({ status: 200, body: { responses: [null] } });

    // Rank files: one ConfigMap shared by all ranks, rank.txt from each pod's own rank label.
    const cm = await eventually(() => ns.kube.configMaps.get(ns.name, configMapName(name)), 'the rank-files ConfigMap');
    const hosts = [0, 1, 2].map((r) => `${podName(name, r)}.${serviceName(name)}.${ns.name}.svc.cluster.local`);
    const pods = await runningPods(stack, id, 3);
    for (const [r, pod] of pods.entries()) {
      expect(pod.metadata?.name).toBe(podName(name, r));
      expect(pod.metadata?.labels?.['ucloud.dk/rank']).toBe(String(r));
      expect(pod.spec?.hostname).toBe(podName(name, r));
      expect(pod.spec?.subdomain).toBe(serviceName(name));
      const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
      expect(env).toMatchObject({ UCLOUD_RANK: String(r), UCLOUD_TASK_COUNT: '3', UCLOUD_JOB_ID: id });
      // The projected volume: the shared ConfigMap plus rank.txt = this pod's rank label.
      const etc = pod.spec?.volumes?.find((v) => v.name === 'ucloud-etc')?.projected?.sources ?? [];
      expect(etc[0]?.configMap?.name).toBe(configMapName(name));
      expect(etc[1]?.downwardAPI?.items).toEqual([{ path: 'rank.txt', fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['ucloud.dk/rank']" } }]);
      expect(rankViewOf(cm.data ?? {}, Number(pod.metadata?.labels?.['ucloud.dk/rank']))).toEqual({
        'node-0.txt': `${hosts[0]}\n`,
        'node-1.txt': `${hosts[1]}\n`,
        'node-2.txt': `${hosts[2]}\n`,
        'nodes.txt': hosts.map((h) => `${h}\n`).join(''),
        'number_of_nodes.txt': '3\n',
        'cores.txt': '8\n',
        'job_id.txt': `${id}\n`,
        'rank.txt': String(r),
      });
      // UCloud files from the shared claim, by subPath; read-only where the user asked.
      const mounts = pod.spec?.containers[0]?.volumeMounts?.filter((m) => m.name === 'shared-storage') ?? [];
      // (The apiserver leaves out readOnly: false, its default.)
      expect(mounts.map((m) => ({ mountPath: m.mountPath, subPath: m.subPath, readOnly: m.readOnly === true }))).toEqual(
        expect.arrayContaining([
          { mountPath: '/work/mesh.h5', subPath: 'p-4242/Datasets/wing/mesh.h5', readOnly: true },
          { mountPath: '/work/Results', subPath: 'p-4242/Results', readOnly: false },
        ]),
      );
      expect(pod.spec?.volumes?.find((v) => v.name === 'shared-storage')?.persistentVolumeClaim?.claimName).toBe(CLAIM);
    }

    await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at UCloud/Core');
    const running = await crWhen(stack, id, (j) => j.status?.state === 'RUNNING', 'RUNNING in the CR');
    expect(running.status?.ranks).toBe('3/3');
    // The gang started when its last rank did: that is when billing and the time allocation begin.
    const starts = pods.map((p) => Date.parse(String(p.status?.containerStatuses?.[0]?.state?.running?.startedAt)));
    expect(Date.parse(running.status!.startedAt!)).toBe(Math.max(...starts));
    expect(Date.parse(running.status!.expiresAt!)).toBe(Math.max(...starts) + 30 * 60_000);

    // Rank 1's program fails: the job is FAILURE, naming the rank, and ranks 0 and 2 are stopped.
    await exitPod(ns.kc, ns.name, podName(name, 1), { code: 3 });
    await core.waitFor(() => core.jobStates(id).includes('FAILURE'), 60_000, 'FAILURE at UCloud/Core');
    expect(core.jobStates(id)).toEqual(['RUNNING', 'FAILURE']);
    const failure = core.updates.find((u) => u.id === id && u.update.state === 'FAILURE');
    expect(failure?.update.status).toBe('The job failed: rank 1 exited with code 3');
    await noPodsLeft(stack, id);
    const done = await crWhen(stack, id, (j) => j.status?.state === 'FAILURE', 'FAILURE in the CR');
    expect(done.status?.finishedAt).toBeDefined();
    await eventually(async () => (await ns.kube.configMaps.get(ns.name, configMapName(name))) === undefined, 'the ConfigMap to be removed');
  }, 120_000);

  it('a rank whose pod vanishes while the job runs fails the job after the grace period, naming the rank', async () => {
    const { core, ns } = stack;
    const id = '61208';
    expect((await createJobs(stack, batchJob(id, { replicas: 3 }))).status).toBe(200);
    await runningPods(stack, id, 3);
    await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at UCloud/Core');
    // Someone deletes rank 2's pod behind the operator's back; it is not recreated mid-run.
    await ns.kube.pods.delete(ns.name, podName(`j-${id}`, 2), { gracePeriodSeconds: 0 });
    await core.waitFor(() => core.jobStates(id).includes('FAILURE'), 60_000, 'FAILURE at UCloud/Core');
    expect(core.jobStates(id)).toEqual(['RUNNING', 'FAILURE']);
    expect(core.updates.find((u) => u.id === id && u.update.state === 'FAILURE')?.update.status).toBe(
      'The pod of rank 2 disappeared while the job was running',
    );
    await noPodsLeft(stack, id);
  }, 120_000);
});
