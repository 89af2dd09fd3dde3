// The reconciler with the kueue gang backend (docs/adr/0025), on the in-memory apiserver: a job's
// Workload is its only object until Kueue admits it, the job says why it waits in Kueue's words,
// its pods come with the admitted flavor's node labels, the Workload is marked Finished once no
// rank runs and deleted with the other children; a cluster without Kueue's API refuses the backend.
import type { V1Pod } from '@kubernetes/client-node';
import type { Workload } from '../../../src/api/kueue/workload.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { GangBackendResolver } from '../../../src/controller/gang-backend.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { NS, job } from '../../support/job-factory.js';
import { podsOfJob, reconcilerOver } from '../../support/reconciler.js';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const QUOTA = "couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor fast, 2 more needed";

describe('reconciler: kueue gang backend', () => {
  function setup() {
    let now = new Date(T0);
    const kube = new FakeKube(() => now);
    kube.seed('UCloudJob', job({ jobId: '1', replicas: 2 }, 'uid-1'));
    kube.seed('ResourceFlavor', { metadata: { name: 'fast' }, spec: { nodeLabels: { pool: 'fast' } } });
    const config = unitConfig({ namespace: NS, jobs: { gang: { backend: 'kueue', kueue: { queueName: 'team' } } } });
    const reconciler = reconcilerOver(kube, { config, now: () => now });
    const pods = () => podsOfJob(kube)(NS, 'j-1');
    const status = () => kube.peek<UCloudJob>('UCloudJob', NS, 'j-1')!.status!;
    const kueueSays = (change: (w: Workload) => void) => kube.mutate<Workload>('Workload', NS, 'j-1', change);
    const advance = (ms: number) => (now = new Date(now.getTime() + ms));
    /** Kueue admits the job (quota in flavor fast) and the reconciler creates its pods. */
    const admitted = async () => {
      await reconciler.reconcile(NS, 'j-1');
      kueueSays(
        (x) =>
          (x.status = {
            conditions: [
              { type: 'QuotaReserved', status: 'True' },
              { type: 'Admitted', status: 'True' },
            ],
            admission: { clusterQueue: 'cq', podSetAssignments: [{ name: 'main', flavors: { cpu: 'fast', memory: 'fast' }, count: 2 }] },
          }),
      );
      await reconciler.reconcile(NS, 'j-1');
    };
    /** What the kubelet would write on every rank's pod. */
    const ranksAre = (status: V1Pod['status']) => {
      for (const p of pods())
        kube.mutate<V1Pod>('Pod', NS, p.metadata!.name!, (pod) => {
          pod.spec!.nodeName = 'node-a';
          pod.status = status;
        });
    };
    return { kube, reconciler, pods, status, kueueSays, config, advance, admitted, ranksAre };
  }

  it('creates only the Workload until Kueue admits it, and says why the job waits', async () => {
    const { kube, reconciler, pods, status, kueueSays } = setup();
    await reconciler.reconcile(NS, 'j-1');
    const w = kube.peek<Workload>('Workload', NS, 'j-1')!;
    expect(w.spec.queueName).toBe('team');
    expect(w.spec.podSets.map((p) => [p.name, p.count])).toEqual([['main', 2]]);
    expect(pods()).toEqual([]);
    expect(
      kube
        .writes()
        .filter((c) => c.op === 'create')
        .map((c) => c.kind),
    ).toEqual(['Workload']);
    expect(status().state).toBe('IN_QUEUE');
    expect(status().message).toBe('Waiting for Kueue admission in queue team');

    kueueSays((x) => (x.status = { conditions: [{ type: 'QuotaReserved', status: 'False', reason: 'Pending', message: QUOTA }] }));
    await reconciler.reconcile(NS, 'j-1');
    expect(pods()).toEqual([]);
    expect(status().message).toBe(`Waiting for Kueue admission in queue team: ${QUOTA}`);
    // Said to UCloud/Core as status-only updates, once per change.
    const said = (status().outbox?.entries ?? []).filter((e) => e.status?.startsWith('Waiting for Kueue')).map((e) => e.status);
    expect(new Set(said).size).toBe(said.length);
  });

  it("creates every rank's pod once admitted, with the admitted flavor's node labels", async () => {
    const { pods, admitted } = setup();
    await admitted();
    expect(pods()).toHaveLength(2);
    for (const p of pods()) expect(p.spec?.nodeSelector).toMatchObject({ pool: 'fast' });
    expect(pods().every((p) => p.spec?.schedulingGroup === undefined)).toBe(true);
  });

  it('marks the Workload Finished once no rank runs, and deletes it with the other children', async () => {
    const { kube, reconciler, admitted, ranksAre } = setup();
    await admitted();
    // Both ranks ran and exited 0.
    ranksAre({
      phase: 'Succeeded',
      containerStatuses: [
        { name: 'user', ready: false, restartCount: 0, image: 'x', imageID: 'x', state: { terminated: { exitCode: 0, finishedAt: new Date(T0) } } },
      ],
    });
    await reconciler.reconcile(NS, 'j-1'); // SUCCESS
    // Core acknowledges the final state (ranks that ended by themselves wait for it: teardown-timing.ts).
    const outbox = kube.peek<UCloudJob>('UCloudJob', NS, 'j-1')!.status!.outbox!;
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-1', { outbox: { ...outbox, acknowledgedSeq: outbox.entries.at(-1)!.seq } });
    await reconciler.reconcile(NS, 'j-1'); // teardown: pods deleted, none ran: Finished
    await reconciler.reconcile(NS, 'j-1'); // the pods are gone: the Workload goes
    const finished = kube.calls.findIndex((c) => c.op === 'replaceStatus' && c.kind === 'Workload');
    expect(finished).toBeGreaterThanOrEqual(0);
    expect(kube.calls.slice(finished).some((c) => c.op === 'delete' && c.kind === 'Workload')).toBe(true);
    expect(kube.peek('Workload', NS, 'j-1')).toBeUndefined();
  });

  it('ends a running job whose Workload Kueue evicts, FAILURE at the eviction, and charges it only up to then', async () => {
    const { reconciler, status, kueueSays, advance, admitted, ranksAre } = setup();
    await admitted();
    ranksAre({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'user', ready: true, restartCount: 0, image: 'x', imageID: 'x', state: { running: { startedAt: new Date(T0) } } }],
    });
    await reconciler.reconcile(NS, 'j-1');
    expect(status().state).toBe('RUNNING');

    const evictedAt = '2026-12-07T10:00:10Z';
    advance(60_000);
    kueueSays((x) =>
      x.status!.conditions!.push({
        type: 'Evicted',
        status: 'True',
        reason: 'Preempted',
        message: 'Preempted to accommodate a workload with higher priority',
        lastTransitionTime: evictedAt,
      }),
    );
    await reconciler.reconcile(NS, 'j-1');
    expect(status().state).toBe('FAILURE');
    expect(status().message).toBe('Preempted by Kueue: Preempted: Preempted to accommodate a workload with higher priority');
    // Charged up to the eviction, not to when the operator noticed it.
    expect(status().finishedAt).toBe('2026-12-07T10:00:10.000Z');
  });

  it('refuses to start when the apiserver does not serve Kueue, and says what to do', async () => {
    const { kube, config } = setup();
    const resolver = new GangBackendResolver(kube, config);
    await expect(resolver.requireServed()).rejects.toThrow(/does not serve workloads\.kueue\.x-k8s\.io\/v1beta2: install Kueue/);
    kube.served.add('kueue.x-k8s.io/v1beta2/workloads');
    await expect(resolver.requireServed()).resolves.toBeUndefined();
  });
});
