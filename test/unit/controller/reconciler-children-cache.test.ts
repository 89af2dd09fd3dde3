// A restarted reconciler finds a running job's ConfigMap, Service and NetworkPolicy in the child
// caches and does not ask the apiserver for them (six calls per job, most of a 10,000-job
// recovery); a NetworkPolicy whose content differs, or a child that is missing, takes the create
// path as before (in-memory apiserver; the caches are the fake's objects trimmed as the informers
// trim them).
import type { V1Pod } from '@kubernetes/client-node';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { configMapName, networkPolicyName, serviceName } from '../../../src/api/v1alpha1/names.js';
import { trimToIdentity } from '../../../src/controller/child-trim.js';
import type { Reconciler } from '../../../src/controller/reconciler.js';
import { FakeKube } from '../../support/fake-kube.js';
import { reconcilerOver as fakeReconciler } from '../../support/reconciler.js';
import { NS, job } from '../../support/job-factory.js';

const NOW = Date.parse('2026-11-22T10:00:00.000Z');

function reconcilerOver(kube: FakeKube, withCaches: boolean): Reconciler {
  const cached = (kind: 'ConfigMap' | 'Service' | 'NetworkPolicy', name: string, hash = false) => {
    const o = kube.peek(kind, NS, name);
    return o ? trimToIdentity(o, hash) : undefined;
  };
  return fakeReconciler(kube, {
    podsOf: (ns) => kube.all<V1Pod>('Pod', ns),
    ...(withCaches
      ? {
          childrenOf: (_ns: string, name: string) => ({
            configMap: cached('ConfigMap', configMapName(name)),
            service: cached('Service', serviceName(name)),
            networkPolicy: cached('NetworkPolicy', networkPolicyName(name), true),
          }),
        }
      : {}),
    now: () => new Date(NOW),
  });
}

const childCalls = (kube: FakeKube) => kube.calls.filter((c) => ['ConfigMap', 'Service', 'NetworkPolicy'].includes(c.kind));

describe('reconciler: children already in place', () => {
  async function firstRun(): Promise<FakeKube> {
    const kube = new FakeKube(() => new Date(NOW));
    kube.seed('UCloudJob', job({ jobId: '42' }, 'uid-42') as UCloudJob);
    await reconcilerOver(kube, false).reconcile(NS, 'j-42');
    expect(kube.peek('NetworkPolicy', NS, networkPolicyName('j-42'))).toBeDefined();
    kube.calls.length = 0;
    return kube;
  }

  it('after a restart, a job whose children are cached costs no child calls', async () => {
    const kube = await firstRun();
    await reconcilerOver(kube, true).reconcile(NS, 'j-42');
    expect(childCalls(kube)).toEqual([]);
  });

  it('without the caches (or before they are filled) it takes the create path, as before', async () => {
    const kube = await firstRun();
    await reconcilerOver(kube, false).reconcile(NS, 'j-42');
    expect(childCalls(kube).map((c) => `${c.op} ${c.kind}`)).toEqual(expect.arrayContaining(['create ConfigMap', 'create Service', 'create NetworkPolicy']));
  });

  it('a NetworkPolicy edited while the operator was down is put back', async () => {
    const kube = await firstRun();
    const policy = kube.peek<{ spec: { ingress?: unknown[] } }>('NetworkPolicy', NS, networkPolicyName('j-42'))!;
    const edited = { ...policy, spec: { ...policy.spec, ingress: [{}] } }; // allow everything in
    await kube.networkPolicies.replace(NS, networkPolicyName('j-42'), edited as never);
    kube.calls.length = 0;
    await reconcilerOver(kube, true).reconcile(NS, 'j-42');
    expect(childCalls(kube).map((c) => `${c.op} ${c.kind}`)).toContain('replace NetworkPolicy');
    expect(kube.peek<{ spec: unknown }>('NetworkPolicy', NS, networkPolicyName('j-42'))!.spec).toEqual(policy.spec);
  });

  it('a child deleted while the operator was down is created again', async () => {
    const kube = await firstRun();
    await kube.services.delete(NS, serviceName('j-42'));
    kube.calls.length = 0;
    await reconcilerOver(kube, true).reconcile(NS, 'j-42');
    expect(childCalls(kube).map((c) => `${c.op} ${c.kind}`)).toContain('create Service');
    expect(kube.peek('Service', NS, serviceName('j-42'))).toBeDefined();
  });

  it('a child deleted while a reconcile is creating the others is created again on the next reconcile', async () => {
    // The race the self-repair integration test hit: the policy's deletion starts a reconcile whose
    // ConfigMap create finds the old ConfigMap (AlreadyExists); the ConfigMap is deleted right after,
    // while that reconcile is still creating the policy. Its record of "children ensured" must not
    // outlive the deletion, or the requeued reconcile trusts it and never recreates the ConfigMap.
    const kube = await firstRun();
    const reconciler = reconcilerOver(kube, true);
    await reconciler.reconcile(NS, 'j-42');
    await kube.networkPolicies.delete(NS, networkPolicyName('j-42'));
    reconciler.childChanged(NS, 'j-42');
    const create = kube.networkPolicies.create.bind(kube.networkPolicies);
    kube.networkPolicies.create = async (ns, obj) => {
      await kube.configMaps.delete(NS, configMapName('j-42'));
      reconciler.childChanged(NS, 'j-42'); // the informer's delete event, mid-reconcile
      return create(ns, obj);
    };
    await reconciler.reconcile(NS, 'j-42');
    kube.networkPolicies.create = create;
    expect(kube.peek('ConfigMap', NS, configMapName('j-42'))).toBeUndefined();
    await reconciler.reconcile(NS, 'j-42');
    expect(kube.peek('ConfigMap', NS, configMapName('j-42'))).toBeDefined();
    expect(kube.peek('NetworkPolicy', NS, networkPolicyName('j-42'))).toBeDefined();
  });
});
