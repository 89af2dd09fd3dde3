// The end-to-end proof on the real control plane: UCloud/Core (emulated) creates the spec's
// "Simple batch Job" verbatim; the operator writes the UCloudJob, the rank files and the pod;
// kwok runs the pod; the job's RUNNING and SUCCESS reach UCloud/Core.
import { configMapName, podName, serviceName, networkPolicyName } from '../../src/api/v1alpha1/names.js';
import { rankViewOf } from '../../src/controller/desired/rank-files.js';
import { eventually } from '../support/harness.js';
import { useStack } from '../support/stack-hooks.js';
import { exitPod } from '../support/workload.js';
import { specJob } from '../support/job-factory.js';

/** The spec's example create body. */
const fixture = { items: [specJob()] };

describe('a UCloud job end to end', () => {
  const stack = useStack('each');

  it('runs the spec example: CR, rank files, pod, RUNNING then SUCCESS at UCloud/Core', async () => {
    const { core, operator, ns } = stack();
    const res = await core.callProvider(operator.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, fixture);
    expect(res).toEqual({ status: 200, body: { responses: [null] } });

    const name = 'j-54112';
    const job = await eventually(() => ns.kube.ucloudJobs.get(ns.name, name), 'the UCloudJob');
    expect(job.spec).toMatchObject({
      jobId: '54112',
      replicas: 1,
      image: 'acme/batch:1.0.0',
      command: ['acme-batch', '--debug', 'Hello, World!'],
      product: { id: 'example-compute-1', cpu: 1, memoryInGigs: 2 },
      timeAllocationMillis: 3_600_000,
    });

    const cm = await eventually(() => ns.kube.configMaps.get(ns.name, configMapName(name)), 'the rank-files ConfigMap');
    const host = `${podName(name, 0)}.${serviceName(name)}.${ns.name}.svc.cluster.local`;
    expect(rankViewOf(cm.data ?? {}, 0)).toEqual({
      'node-0.txt': `${host}\n`,
      'nodes.txt': `${host}\n`,
      'number_of_nodes.txt': '1\n',
      'cores.txt': '1\n',
      'job_id.txt': '54112\n',
      'rank.txt': '0',
    });
    // The reconciler writes ConfigMap, Service and NetworkPolicy one after the other.
    await eventually(() => ns.kube.services.get(ns.name, serviceName(name)), 'the headless Service');
    await eventually(() => ns.kube.networkPolicies.get(ns.name, networkPolicyName(name)), 'the NetworkPolicy');

    const pod = await eventually(async () => {
      const p = await ns.kube.pods.get(ns.name, podName(name, 0));
      return p?.status?.phase === 'Running' ? p : undefined;
    }, 'the pod to run on a kwok node');
    expect(pod.spec?.nodeName).toBeTruthy();
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.containers[0]?.command).toEqual(['acme-batch', '--debug', 'Hello, World!']);

    await core.waitFor(() => core.jobStates('54112').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    await exitPod(ns.kc, ns.name, podName(name, 0), { code: 0 });
    await core.waitFor(() => core.jobStates('54112').includes('SUCCESS'), 30_000, 'SUCCESS at UCloud/Core');
    expect(core.jobStates('54112')).toEqual(['RUNNING', 'SUCCESS']);

    const done = await eventually(async () => {
      const j = await ns.kube.ucloudJobs.get(ns.name, name);
      const box = j?.status?.outbox;
      return box && box.entries.every((e) => e.seq <= box.acknowledgedSeq) ? j : undefined;
    }, 'every update acknowledged in the CR');
    expect(done.status?.state).toBe('SUCCESS');
    await eventually(async () => (await ns.kube.pods.get(ns.name, podName(name, 0))) === undefined, 'the pod to be removed');
  });

  it('a duplicate create leaves exactly one CR and one set of pods', async () => {
    const { core, operator, ns } = stack();
    const path = `/ucloud/${core.providerId}/jobs`;
    const [a, b] = await Promise.all([
      core.callProvider(operator.adapterUrl, 'POST', path, fixture),
      core.callProvider(operator.adapterUrl, 'POST', path, fixture),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const again = await core.callProvider(operator.adapterUrl, 'POST', path, fixture);
    expect(again).toEqual({ status: 200, body: { responses: [null] } });
    await eventually(async () => (await ns.kube.pods.list(ns.name)).items.length === 1, 'one pod');
    // Give the reconciler time to (wrongly) make more; there must still be exactly one of each.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await ns.kube.ucloudJobs.list(ns.name)).items).toHaveLength(1);
    expect((await ns.kube.pods.list(ns.name)).items.map((p) => p.metadata?.name)).toEqual([podName('j-54112', 0)]);
    expect((await ns.kube.configMaps.list(ns.name, 'ucloud.dk/job=j-54112')).items).toHaveLength(1);
  });
});
