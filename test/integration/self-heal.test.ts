// Level-triggered repair on the real control plane: a running job whose NetworkPolicy, rank-files
// ConfigMap or headless Service is deleted by someone else gets them back, with nothing reported
// to UCloud/Core (the job never stopped).
import { configMapName, networkPolicyName, podName, serviceName } from '../../src/api/v1alpha1/names.js';
import { OperatorMetrics } from '../../src/observability/metrics.js';
import { startOperator } from '../../src/operator.js';
import { eventually } from '../support/harness.js';
import { useStack } from '../support/stack-hooks.js';
import { specJob } from '../support/job-factory.js';

/** The spec's example create body. */
const fixture = { items: [specJob()] };

describe('children deleted under a running job', () => {
  const stack = useStack('each');

  it('are recreated by the reconciler', async () => {
    const { core, operator, ns } = stack();
    const res = await core.callProvider(operator.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, fixture);
    expect(res.status).toBe(200);
    const name = 'j-54112';
    await core.waitFor(() => core.jobStates('54112').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    const before = {
      policy: await eventually(() => ns.kube.networkPolicies.get(ns.name, networkPolicyName(name)), 'the NetworkPolicy'),
      cm: await eventually(() => ns.kube.configMaps.get(ns.name, configMapName(name)), 'the ConfigMap'),
      svc: await eventually(() => ns.kube.services.get(ns.name, serviceName(name)), 'the Service'),
    };

    await ns.kube.networkPolicies.delete(ns.name, networkPolicyName(name));
    await ns.kube.configMaps.delete(ns.name, configMapName(name));
    await ns.kube.services.delete(ns.name, serviceName(name));

    const policy = await eventually(async () => {
      const p = await ns.kube.networkPolicies.get(ns.name, networkPolicyName(name));
      return p && p.metadata?.uid !== before.policy.metadata?.uid ? p : undefined;
    }, 'a new NetworkPolicy');
    expect(policy.spec).toEqual(before.policy.spec);
    const cm = await eventually(async () => {
      const c = await ns.kube.configMaps.get(ns.name, configMapName(name));
      return c && c.metadata?.uid !== before.cm.metadata?.uid ? c : undefined;
    }, 'a new rank-files ConfigMap');
    expect(cm.data).toEqual(before.cm.data);
    const svc = await eventually(async () => {
      const s = await ns.kube.services.get(ns.name, serviceName(name));
      return s && s.metadata?.uid !== before.svc.metadata?.uid ? s : undefined;
    }, 'a new headless Service');
    expect(svc.spec?.clusterIP).toBe('None');

    // The job kept running throughout: its pod is the same and UCloud/Core heard nothing new.
    expect((await ns.kube.pods.get(ns.name, podName(name, 0)))?.metadata?.deletionTimestamp).toBeUndefined();
    expect(core.jobStates('54112')).toEqual(['RUNNING']);
  });

  it('a restarted operator finds them in place in its caches and writes none of them', async () => {
    const { core, operator, ns, config } = stack();
    const res = await core.callProvider(operator.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, fixture);
    expect(res.status).toBe(200);
    const name = 'j-54112';
    await core.waitFor(() => core.jobStates('54112').includes('RUNNING'), 30_000, 'RUNNING at UCloud/Core');
    const children = async () =>
      Promise.all([
        ns.kube.networkPolicies.get(ns.name, networkPolicyName(name)),
        ns.kube.configMaps.get(ns.name, configMapName(name)),
        ns.kube.services.get(ns.name, serviceName(name)),
      ]).then((objs) => objs.map((o) => `${o?.metadata?.uid}@${o?.metadata?.resourceVersion}`));
    const before = await children();
    const jobVersion = async () => (await ns.kube.ucloudJobs.get(ns.name, name))?.metadata.resourceVersion;
    // Settled: UCloud/Core has acknowledged RUNNING (the acknowledgement is a write of its own) and
    // the Reported condition says so (one more write after the acknowledgement: reading the version
    // between the two made this test race with it).
    await eventually(async () => {
      const s = (await ns.kube.ucloudJobs.get(ns.name, name))?.status;
      return s?.outbox?.acknowledgedSeq === 1 && s.conditions?.some((c) => c.type === 'Reported' && c.status === 'True');
    }, 'the acknowledgement and the Reported condition');
    const versionBefore = await jobVersion();
    await operator.stop();

    // The stored NetworkPolicy (as the apiserver defaulted it) must digest like the built one, or
    // every restart would fall back to six calls per job.
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const again = await startOperator({ config, kc: ns.kc, metrics });
    try {
      await eventually(
        async () => (await metrics.childrenFromCache.get()).values[0]?.value === 1,
        'the restarted reconciler to verify the children from its caches',
      );
      expect(await children()).toEqual(before);
      // Nor the job's status: nothing changed while it was down.
      expect(await jobVersion()).toBe(versionBefore);
    } finally {
      await again.stop();
    }
  });
});
