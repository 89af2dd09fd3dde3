// The reconciler with the native gang backend (docs/adr/0025), on the in-memory apiserver: a
// multi-rank job's PodGroup is created before its pods and deleted at teardown, a job behind an
// unplaced gang of its category creates nothing until that gang is placed, and then it is
// reconciled at once (the queue's next job), first come first served.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodGroup } from '../../../src/api/scheduling/pod-group.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { GangBackendResolver } from '../../../src/controller/gang-backend.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { NS, job } from '../../support/job-factory.js';
import { podsOfJob, reconcilerOver } from '../../support/reconciler.js';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');

describe('reconciler: native gang backend and the wait queue', () => {
  function setup(backend: 'auto' | 'none' = 'auto', neverFits?: (j: UCloudJob) => string | undefined) {
    let now = new Date(T0 + 60_000);
    const kube = new FakeKube(() => now);
    kube.served.add('scheduling.k8s.io/v1alpha2/podgroups');
    for (const [i, id] of ['1', '2', '3'].entries()) {
      const j = job({ jobId: id, replicas: 2 }, `uid-${id}`);
      j.metadata.creationTimestamp = new Date(T0 + i * 1000).toISOString();
      kube.seed('UCloudJob', j);
    }
    const requeued: string[] = [];
    const reconciler = reconcilerOver(kube, {
      config: unitConfig({ namespace: NS, jobs: { gang: { backend } } }),
      requeue: (_ns, name) => requeued.push(name),
      now: () => now,
      ...(neverFits ? { neverFits } : {}),
    });
    /** What kube-scheduler would write: every rank bound, or every rank refused. */
    const schedule = (name: string, verdict: 'bound' | 'unschedulable') => {
      for (const p of podsOfJob(kube)(NS, name)) {
        kube.mutate<V1Pod>('Pod', NS, p.metadata!.name!, (pod) => {
          if (verdict === 'bound') pod.spec!.nodeName = 'node-a';
          pod.status = {
            phase: 'Pending',
            conditions: [
              verdict === 'bound'
                ? { type: 'PodScheduled', status: 'True', lastTransitionTime: now }
                : { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available' },
            ],
          };
        });
      }
    };
    const pods = (name: string) => podsOfJob(kube)(NS, name);
    const message = (name: string) => kube.peek<UCloudJob>('UCloudJob', NS, name)?.status?.message;
    return { kube, reconciler, requeued, schedule, pods, message, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
  }

  it('creates the PodGroup before the pods, and the pods name it', async () => {
    const { kube, reconciler, pods } = setup();
    await reconciler.reconcile(NS, 'j-1');
    const creates = kube.calls.filter((c) => c.op === 'create' && (c.kind === 'PodGroup' || c.kind === 'Pod')).map((c) => `${c.kind}/${c.name}`);
    expect(creates).toEqual(['PodGroup/j-1', 'Pod/j-1-0', 'Pod/j-1-1']);
    expect(kube.peek<PodGroup>('PodGroup', NS, 'j-1')?.spec.schedulingPolicy).toEqual({ gang: { minCount: 2 } });
    expect(pods('j-1').map((p) => p.spec?.schedulingGroup?.podGroupName)).toEqual(['j-1', 'j-1']);
  });

  it('holds a later job of the category behind an unplaced gang, admits it once that gang is placed', async () => {
    const { reconciler, requeued, schedule, pods, message } = setup();
    await reconciler.reconcile(NS, 'j-1');
    await reconciler.reconcile(NS, 'j-2');
    await reconciler.reconcile(NS, 'j-3');
    expect(pods('j-2')).toEqual([]);
    expect(pods('j-3')).toEqual([]);
    expect(message('j-2')).toBe('Waiting for 2 × example-compute-1; 1 job ahead');
    expect(message('j-3')).toBe('Waiting for 2 × example-compute-1; 2 jobs ahead');

    // The first gang gets its nodes: it leaves the queue and the next in line is reconciled.
    schedule('j-1', 'bound');
    await reconciler.reconcile(NS, 'j-1');
    expect(requeued).toEqual(['j-2']);
    await reconciler.reconcile(NS, 'j-2');
    expect(pods('j-2')).toHaveLength(2);
    // j-3 still waits: j-2 is not placed yet.
    await reconciler.reconcile(NS, 'j-3');
    expect(pods('j-3')).toEqual([]);
    expect(message('j-3')).toBe('Waiting for 2 × example-compute-1; 1 job ahead');

    // No room for j-2: it says so, and j-3 keeps waiting behind it.
    schedule('j-2', 'unschedulable');
    await reconciler.reconcile(NS, 'j-2');
    expect(message('j-2')).toBe('Waiting for 2 × example-compute-1; no jobs ahead');
    await reconciler.reconcile(NS, 'j-3');
    expect(pods('j-3')).toEqual([]);
  });

  it('a first job whose ranks no node can hold any more waits, saying so, without holding later jobs of its category', async () => {
    const why =
      'product example-compute-1 can never run 2 ranks at once here: the 1 node of category example-compute hold at most 1 of its ranks together, even when empty';
    const { reconciler, schedule, pods, message } = setup('auto', (j) => (j.spec.jobId === '1' ? why : undefined));
    await reconciler.reconcile(NS, 'j-1');
    schedule('j-1', 'unschedulable');
    await reconciler.reconcile(NS, 'j-1');
    expect(message('j-1')).toBe(`Waiting for 2 × example-compute-1; ${why}`);
    expect(reconciler.waitQueue.has(`${NS}/j-1`)).toBe(false);
    await reconciler.reconcile(NS, 'j-2');
    expect(pods('j-2')).toHaveLength(2);
  });

  it("recreates a waiting gang's PodGroup that someone deleted, at the next resync at the latest", async () => {
    const { kube, reconciler, schedule, advance } = setup();
    await reconciler.reconcile(NS, 'j-1');
    schedule('j-1', 'unschedulable');
    await kube.podGroups.delete(NS, 'j-1');
    await reconciler.reconcile(NS, 'j-1');
    expect(kube.peek('PodGroup', NS, 'j-1')).toBeUndefined();
    advance(unitConfig().reconciler.resyncSeconds * 1000);
    await reconciler.reconcile(NS, 'j-1');
    expect(kube.peek<PodGroup>('PodGroup', NS, 'j-1')?.spec.schedulingPolicy).toEqual({ gang: { minCount: 2 } });
  });

  it('at start-up, a gang reconciled before earlier jobs of its category waits for them (not for the order of reconciles)', async () => {
    const { reconciler, pods, schedule, requeued } = setup();
    await reconciler.reconcile(NS, 'j-3');
    expect(pods('j-3')).toEqual([]);
    await reconciler.reconcile(NS, 'j-1');
    await reconciler.reconcile(NS, 'j-2');
    expect(pods('j-1')).toHaveLength(2);
    expect(pods('j-2')).toEqual([]);
    schedule('j-1', 'bound');
    await reconciler.reconcile(NS, 'j-1');
    await reconciler.reconcile(NS, requeued.at(-1)!);
    expect(pods('j-2')).toHaveLength(2);
    expect(pods('j-3')).toEqual([]);
  });

  it("deletes the PodGroup with the job's other children when the job ends", async () => {
    const { kube, reconciler } = setup();
    await reconciler.reconcile(NS, 'j-1');
    const j = kube.peek<UCloudJob>('UCloudJob', NS, 'j-1')!;
    kube.mutate<UCloudJob>('UCloudJob', NS, 'j-1', (x) => (x.spec.terminationRequestedAt = new Date(T0 + 30_000).toISOString()));
    expect(j.status?.state).toBe('IN_QUEUE');
    await reconciler.reconcile(NS, 'j-1');
    await reconciler.reconcile(NS, 'j-1');
    expect(kube.calls.some((c) => c.op === 'delete' && c.kind === 'PodGroup' && c.name === 'j-1')).toBe(true);
    expect(kube.peek('PodGroup', NS, 'j-1')).toBeUndefined();
  });

  it('with backend none (or an apiserver without the API under auto): no PodGroup, no schedulingGroup, no holding back', async () => {
    for (const s of [
      setup('none'),
      (() => {
        const x = setup();
        x.kube.served.clear();
        return x;
      })(),
    ]) {
      await s.reconciler.reconcile(NS, 'j-1');
      await s.reconciler.reconcile(NS, 'j-2');
      expect(s.kube.all('PodGroup', NS)).toEqual([]);
      expect(s.pods('j-2')).toHaveLength(2);
      expect(s.pods('j-1').every((p) => p.spec?.schedulingGroup === undefined)).toBe(true);
    }
  });
});

describe('choosing the gang backend', () => {
  const resolver = (backend: 'auto' | 'native' | 'none') => {
    const kube = new FakeKube();
    return { kube, r: new GangBackendResolver(kube, unitConfig({ jobs: { gang: { backend } } })) };
  };
  const discoveries = (kube: FakeKube) => kube.calls.filter((c) => c.op === 'discover').length;

  it('auto: native when the apiserver serves podgroups in scheduling.k8s.io/v1alpha2, asked once and remembered', async () => {
    const { kube, r } = resolver('auto');
    kube.served.add('scheduling.k8s.io/v1alpha2/podgroups');
    expect(await r.backend()).toBe('native');
    expect(await r.backend()).toBe('native');
    expect(discoveries(kube)).toBe(1);
  });

  it('auto: none without the API; asked again after forget() (a PodGroup call answered 404)', async () => {
    const { kube, r } = resolver('auto');
    expect(await r.backend()).toBe('none');
    kube.served.add('scheduling.k8s.io/v1alpha2/podgroups');
    expect(await r.backend()).toBe('none');
    r.forget();
    expect(await r.backend()).toBe('native');
    expect(discoveries(kube)).toBe(2);
  });

  it('auto: a discovery error is not "none": the reconcile fails and the next one asks again', async () => {
    const { kube, r } = resolver('auto');
    kube.served.add('scheduling.k8s.io/v1alpha2/podgroups');
    kube.failNext('discover', new KubeError(503, 'ServiceUnavailable', 'apiserver is shutting down'));
    await expect(r.backend()).rejects.toThrow(/shutting down/);
    expect(await r.backend()).toBe('native');
  });

  it('native and none are taken as configured, without asking', async () => {
    for (const b of ['native', 'none'] as const) {
      const { kube, r } = resolver(b);
      expect(await r.backend()).toBe(b);
      expect(discoveries(kube)).toBe(0);
    }
  });
});
