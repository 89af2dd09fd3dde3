// The ended job's I/O path: what a reconcile waits for. A teardown's deletes go out together (one
// round trip, not one per child), and the state-change Event is queued, not awaited, so a burst of
// ended jobs after a restart is bounded by their status writes. Deletes and Events are held open
// here until the test releases them, so "sent together" and "not awaited" are seen, not timed.
import type { V1Pod } from '@kubernetes/client-node';
import { configMapName, podName, serviceName } from '../../../src/api/v1alpha1/names.js';
import { LABEL_JOB, type UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { configMap } from '../../../src/controller/desired/rank-files.js';
import { headlessService } from '../../../src/controller/desired/service-builder.js';
import { OperatorMetrics } from '../../../src/observability/metrics.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { NS, job } from '../../support/job-factory.js';
import { reconcilerOver } from '../../support/reconciler.js';

const NOW = new Date('2026-11-22T10:00:00.000Z');

/** Holds every call of `fn` open until release(); `started` lists the calls made so far. */
function hold<A extends unknown[], R>(fn: (...a: A) => Promise<R>, started: string[], label: (...a: A) => string) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const held = async (...a: A): Promise<R> => {
    started.push(label(...a));
    await gate;
    return fn(...a);
  };
  return { held, release: () => open() };
}

function endedJob(kube: FakeKube, id: string, replicas: number): UCloudJob {
  const config = unitConfig({ namespace: NS });
  const j = kube.seed('UCloudJob', {
    ...job({ jobId: id, replicas }, `uid-${id}`),
    status: {
      state: 'SUCCESS',
      message: 'done',
      startedAt: new Date(NOW.getTime() - 60_000).toISOString(),
      finishedAt: NOW.toISOString(),
      outbox: { acknowledgedSeq: 2, entries: [] },
      accounting: { chargedPeriods: 1 },
    },
  } as UCloudJob);
  kube.seed('ConfigMap', configMap(j, config));
  kube.seed('Service', headlessService(j, config));
  for (let r = 0; r < replicas; r++) {
    kube.seed('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName(j.metadata.name, r), namespace: NS, labels: { [LABEL_JOB]: j.metadata.name } },
      spec: { containers: [{ name: 'job', image: 'x' }] },
    } as V1Pod);
  }
  return j;
}

describe('the ended job I/O path', () => {
  it('sends every delete of a teardown before the first one is answered', async () => {
    const kube = new FakeKube(() => NOW);
    const j = endedJob(kube, '91', 2);
    const started: string[] = [];
    const pods = hold(kube.pods.delete.bind(kube.pods), started, (_ns, name) => `Pod/${name}`);
    const cms = hold(kube.configMaps.delete.bind(kube.configMaps), started, (_ns, name) => `ConfigMap/${name}`);
    const svcs = hold(kube.services.delete.bind(kube.services), started, (_ns, name) => `Service/${name}`);
    Object.assign(kube.pods, { delete: pods.held });
    Object.assign(kube.configMaps, { delete: cms.held });
    Object.assign(kube.services, { delete: svcs.held });
    const reconciler = reconcilerOver(kube, { now: () => NOW });

    const turn = reconciler.reconcile(NS, j.metadata.name);
    await new Promise((r) => setImmediate(r));
    expect(started.sort()).toEqual(
      [
        `ConfigMap/${configMapName(j.metadata.name)}`,
        `Pod/${podName(j.metadata.name, 0)}`,
        `Pod/${podName(j.metadata.name, 1)}`,
        `Service/${serviceName(j.metadata.name)}`,
      ].sort(),
    );
    [pods, cms, svcs].forEach((h) => h.release());
    // The pods were still in the cache when the deletes went out: the policy waits for the next turn.
    expect((await turn).requeueAfterMs).toBeGreaterThan(0);
    expect(kube.all('Pod', NS)).toHaveLength(0);
    expect(kube.all('ConfigMap', NS)).toHaveLength(0);
    expect(kube.all('Service', NS)).toHaveLength(0);
  });

  it('a failed delete fails the teardown only after the others have been answered, and the retry finishes it', async () => {
    const kube = new FakeKube(() => NOW);
    const j = endedJob(kube, '92', 1);
    const { KubeError } = await import('../../../src/k8s/errors.js');
    kube.failNext('ConfigMap.delete', new KubeError(500, 'InternalError', 'etcd timeout'));
    const reconciler = reconcilerOver(kube, { now: () => NOW });
    await expect(reconciler.reconcile(NS, j.metadata.name)).rejects.toThrow('etcd timeout');
    // The Service and the pod went despite the ConfigMap's failure; the ConfigMap is still there.
    expect(kube.all('Service', NS)).toHaveLength(0);
    expect(kube.all('Pod', NS)).toHaveLength(0);
    expect(kube.all('ConfigMap', NS)).toHaveLength(1);
    await reconciler.reconcile(NS, j.metadata.name);
    expect(kube.all('ConfigMap', NS)).toHaveLength(0);
  });

  it("writes the final state without waiting for the state change's Event, which follows with the time of the change", async () => {
    const kube = new FakeKube(() => NOW);
    const config = unitConfig({ namespace: NS });
    const j = kube.seed('UCloudJob', {
      ...job({ jobId: '93', replicas: 1 }, 'uid-93'),
      status: { state: 'RUNNING', startedAt: new Date(NOW.getTime() - 60_000).toISOString(), outbox: { acknowledgedSeq: 1, entries: [] } },
    } as UCloudJob);
    kube.seed('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName(j.metadata.name, 0), namespace: NS, labels: { [LABEL_JOB]: j.metadata.name, 'ucloud.dk/rank': '0' } },
      spec: { containers: [{ name: 'job', image: 'x' }], nodeName: 'n1' },
      status: {
        phase: 'Succeeded',
        containerStatuses: [{ name: 'job', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, finishedAt: NOW } } }],
      },
    } as V1Pod);
    const started: string[] = [];
    const events = hold(kube.recordEvent.bind(kube), started, (ev) => `${ev.reason}@${ev.at?.toISOString()}`);
    Object.assign(kube, { recordEvent: events.held });
    const metrics = new OperatorMetrics();
    const reconciler = reconcilerOver(kube, { config, metrics, now: () => NOW });

    // The reconcile returns while the Event write is still held open.
    await reconciler.reconcile(NS, j.metadata.name);
    expect(kube.peek<UCloudJob>('UCloudJob', NS, j.metadata.name)?.status?.state).toBe('SUCCESS');
    expect(started).toEqual([expect.stringMatching(/^Succeeded@/)]);
    expect(kube.events).toEqual([]);
    events.release();
    await reconciler.eventsIdle();
    expect(kube.events).toEqual([expect.objectContaining({ reason: 'Succeeded', type: 'Normal' })]);
  });
});
