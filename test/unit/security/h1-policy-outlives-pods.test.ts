// security: H1 — a terminating job keeps its NetworkPolicy until no pod of the job exists (a user
// who traps SIGTERM, or a pod held in deletion, must never run unpoliced). In-memory apiserver
// with finalizers: a pod with a finalizer stays, with a deletionTimestamp, after its delete.
// The same rule against the real apiserver: test/integration/security-teardown.test.ts.
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { networkPolicyName, podName } from '../../../src/api/v1alpha1/names.js';
import { LABEL_JOB, type UCloudJob, type UCloudJobStatus } from '../../../src/api/v1alpha1/ucloudjob.js';
import { networkPolicyFor } from '../../../src/controller/desired/network-policy-builder.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { reconcilerOver } from '../../support/reconciler.js';
import { NS, job } from '../../support/job-factory.js';

const HOLD = 'test.ucloud.dk/hold';
const FINISHED = Date.parse('2026-11-22T10:00:00.000Z');

const finalStatus: UCloudJobStatus = {
  state: 'SUCCESS',
  message: 'Job was terminated by the user',
  startedAt: new Date(FINISHED - 60_000).toISOString(),
  finishedAt: new Date(FINISHED).toISOString(),
  outbox: { acknowledgedSeq: 2, entries: [] },
  accounting: { chargedPeriods: 1 },
};

describe('security: H1 the job NetworkPolicy outlives its last pod', () => {
  function setup(retainFinishedSeconds = 0) {
    const kube = new FakeKube(() => new Date(FINISHED + 1000));
    const config = unitConfig({ namespace: NS, jobs: { retainFinishedSeconds } });
    const j = kube.seed('UCloudJob', { ...job({ jobId: '81', replicas: 2 }, 'uid-81'), status: finalStatus } as UCloudJob);
    kube.seed('NetworkPolicy', networkPolicyFor(j, config) as V1NetworkPolicy);
    for (const r of [0, 1]) {
      kube.seed('Pod', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName(j.metadata.name, r),
          namespace: NS,
          labels: { [LABEL_JOB]: j.metadata.name, 'ucloud.dk/rank': String(r) },
          finalizers: [HOLD],
        },
        spec: { containers: [{ name: 'job', image: 'x' }] },
      } as V1Pod);
    }
    const reconciler = reconcilerOver(kube, { config, podsOf: () => kube.all<V1Pod>('Pod', NS), now: () => new Date(FINISHED + 1000) });
    const policy = () => kube.peek<V1NetworkPolicy>('NetworkPolicy', NS, networkPolicyName(j.metadata.name));
    const release = async () => {
      for (const p of kube.all<V1Pod>('Pod', NS)) {
        await kube.pods.replace(NS, p.metadata!.name!, { ...p, metadata: { ...p.metadata, finalizers: [] } });
      }
    };
    return { kube, reconciler, policy, release, name: j.metadata.name };
  }

  it('keeps the policy while a pod of the job is terminating, deletes it once none is left', async () => {
    const { kube, reconciler, policy, release, name } = setup();
    const first = await reconciler.reconcile(NS, name);
    // The pods were asked to go and are terminating; the policy must still be there.
    const pods = kube.all<V1Pod>('Pod', NS);
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => p.metadata?.deletionTimestamp)).toBe(true);
    expect(policy()).toBeDefined();
    expect(first.requeueAfterMs).toBeGreaterThan(0);
    // Reconciled again while the pods are still held: still policed.
    await reconciler.reconcile(NS, name);
    expect(policy()).toBeDefined();

    await release();
    expect(kube.all<V1Pod>('Pod', NS)).toHaveLength(0);
    await reconciler.reconcile(NS, name);
    expect(policy()).toBeUndefined();
  });

  it('asks the apiserver, not the cache: a pod the cache does not show still keeps the policy', async () => {
    const { kube, policy, name } = setup();
    const blind = reconcilerOver(kube, { podsOf: () => [], now: () => new Date(FINISHED + 1000) });
    await blind.reconcile(NS, name);
    expect(kube.all<V1Pod>('Pod', NS)).toHaveLength(2);
    expect(policy()).toBeDefined();
  });

  it('does not retire (delete) the UCloudJob, which owns the policy, while a pod is terminating', async () => {
    const { kube, reconciler, release, name } = setup(1);
    await reconciler.reconcile(NS, name);
    await reconciler.reconcile(NS, name);
    expect(kube.peek('UCloudJob', NS, name)).toBeDefined();
    await release();
    await reconciler.reconcile(NS, name);
    expect(kube.peek('UCloudJob', NS, name)).toBeUndefined();
  });
});
