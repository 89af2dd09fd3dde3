// The reconciler's peer wiring against the in-memory apiserver (FakeKube): job B names job A as
// "db"; B's `<B>-peers` Service and EndpointSlices follow A's pods, stale slices go, nothing is
// rewritten when nothing changed, and both go with B (docs/adr/0006-peers.md).
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { LABEL_JOB, LABEL_MANAGED_BY, LABEL_RANK, MANAGED_BY, type UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import type { Reconciler } from '../../../src/controller/reconciler.js';
import { FakeKube } from '../../support/fake-kube.js';
import { unitConfig } from '../../support/config.js';
import { reconcilerOver } from '../../support/reconciler.js';
import { job, NS } from '../../support/job-factory.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');
const config = unitConfig({ namespace: NS });

function pod(jobName: string, rank: number, ip: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${jobName}-${rank}`, namespace: NS, labels: { [LABEL_JOB]: jobName, [LABEL_RANK]: String(rank), [LABEL_MANAGED_BY]: MANAGED_BY } },
    spec: { containers: [{ name: 'user-job', image: 'x' }], nodeName: 'n' },
    status: {
      phase: 'Running',
      podIP: ip,
      containerStatuses: [
        { name: 'user-job', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date(NOW.getTime() - 60_000) } } },
      ],
    },
  };
}

const running = (j: UCloudJob): UCloudJob => ({
  ...j,
  status: { state: 'RUNNING', startedAt: new Date(NOW.getTime() - 60_000).toISOString(), reportedTimeAllocationMillis: undefined },
});

describe('reconciler: peer aliases', () => {
  let kube: FakeKube;
  let reconciler: Reconciler;
  const A = 'j-900';
  const B = 'j-901';

  beforeEach(() => {
    kube = new FakeKube(() => NOW);
    kube.seed('UCloudJob', running(job({ jobId: '900', replicas: 2 }, 'uid-a')));
    kube.seed('UCloudJob', running(job({ jobId: '901', peers: [{ hostname: 'db', jobId: '900' }] }, 'uid-b')));
    kube.seed('Pod', pod(A, 0, '10.244.0.10'));
    kube.seed('Pod', pod(A, 1, '10.244.0.11'));
    kube.seed('Pod', pod(B, 0, '10.244.0.20'));
    reconciler = reconcilerOver(kube, { config, now: () => NOW });
  });

  const slice = () => kube.peek<V1EndpointSlice>('EndpointSlice', NS, `${B}-peers-ipv4-0`);
  const aliases = () => (slice()?.endpoints ?? []).map((e) => `${e.hostname}=${e.addresses[0]}`);

  it("publishes A's ranks under B's hostnames, follows A's pods, and drops them when A ends", async () => {
    await reconciler.reconcile(NS, B);
    const svc = kube.peek<V1Service>('Service', NS, `${B}-peers`);
    expect(svc?.spec).toEqual({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(aliases()).toEqual(['db=10.244.0.10', 'db-0=10.244.0.10', 'db-1=10.244.0.11']);

    // Nothing changed: no write at all (children ensured, status equal though stored in schema key order).
    kube.clearCalls();
    expect(kube.writes()).toEqual([]);

    // A's rank 1 comes back with another address: the slice is replaced, not duplicated.
    kube.mutate<V1Pod>('Pod', NS, `${A}-1`, (p) => {
      p.status!.podIP = '10.244.0.99';
    });
    await reconciler.reconcile(NS, B);
    expect(aliases()).toEqual(['db=10.244.0.10', 'db-0=10.244.0.10', 'db-1=10.244.0.99']);
    expect(kube.all('EndpointSlice', NS)).toHaveLength(1);

    // A ends: its addresses are about to be someone else's, so B's aliases empty out.
    kube.mutate<UCloudJob>('UCloudJob', NS, A, (j) => {
      j.status = { ...j.status, state: 'SUCCESS', finishedAt: NOW.toISOString() };
    });
    await reconciler.reconcile(NS, B);
    expect(slice()?.endpoints ?? []).toEqual([]);
  });

  it('removes slices of the peer Service that are no longer wanted', async () => {
    kube.seed<V1EndpointSlice>('EndpointSlice', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${B}-peers-ipv6-0`, namespace: NS, labels: { [LABEL_JOB]: B, 'kubernetes.io/service-name': `${B}-peers` } },
      addressType: 'IPv6',
      endpoints: [{ addresses: ['fd00::1'], hostname: 'db' }],
    });
    await reconciler.reconcile(NS, B);
    expect(kube.all<V1EndpointSlice>('EndpointSlice', NS).map((s) => s.metadata?.name)).toEqual([`${B}-peers-ipv4-0`]);
  });

  it('B ends: its peer Service and slices are deleted with its other children', async () => {
    await reconciler.reconcile(NS, B);
    expect(slice()).toBeDefined();
    kube.mutate<UCloudJob>('UCloudJob', NS, B, (j) => {
      j.spec.terminationRequestedAt = NOW.toISOString();
    });
    // The final state is written (and reported) first; the teardown is the job's next turn.
    expect(await reconciler.reconcile(NS, B)).toEqual({ requeueAfterMs: 0 });
    expect(kube.peek<UCloudJob>('UCloudJob', NS, B)?.status?.state).toBe('SUCCESS');
    await reconciler.reconcile(NS, B);
    expect(kube.peek('Service', NS, `${B}-peers`)).toBeUndefined();
    expect(kube.all('EndpointSlice', NS)).toEqual([]);
    expect(kube.peek<UCloudJob>('UCloudJob', NS, B)?.status?.state).toBe('SUCCESS');
  });

  it("A's NetworkPolicy admits B once B names it, in both directions", async () => {
    await reconciler.reconcile(NS, A);
    const policy = kube.peek<{ spec: { ingress: Array<{ _from: unknown[] }>; egress: Array<{ to: unknown[] }> } }>('NetworkPolicy', NS, `${A}-policy`);
    const names = (peers: unknown[]) => peers.map((p) => (p as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels[LABEL_JOB]);
    expect(names(policy!.spec.ingress[0]!._from)).toEqual([A, B]);
    expect(names(policy!.spec.egress[0]!.to)).toEqual([A, B]);
  });
});
