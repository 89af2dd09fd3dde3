// Events are a courtesy to `kubectl describe uj`: every component records them the same way, about
// the UCloudJob by its API version and kind, and a failed Event write is logged, never thrown into
// the reconcile, report or charge that wanted it.
import { API_VERSION, KIND } from '../../../src/api/v1alpha1/ucloudjob.js';
import { JobEventRecorder, jobRef } from '../../../src/controller/job-events.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { rootLogger } from '../../../src/observability/log.js';
import { FakeKube } from '../../support/fake-kube.js';
import { OperatorMetrics } from '../../../src/observability/metrics.js';
import type { KubeEvent } from '../../../src/k8s/kube-port.js';
import { captureLogs } from '../../support/logs.js';

describe('JobEventRecorder', () => {
  it('records an Event regarding the UCloudJob by its API version, kind, name and uid', async () => {
    const kube = new FakeKube();
    const ref = jobRef({ metadata: { namespace: 'jobs', name: 'j-7', uid: 'u-7' } });
    await new JobEventRecorder(kube, rootLogger).record(ref, 'Warning', 'ChargeRejected', 'Charge', 'refused');
    expect(kube.events).toEqual([
      {
        namespace: 'jobs',
        regarding: { apiVersion: API_VERSION, kind: KIND, name: 'j-7', namespace: 'jobs', uid: 'u-7' },
        type: 'Warning',
        reason: 'ChargeRejected',
        action: 'Charge',
        note: 'refused',
      },
    ]);
  });

  it('a refused Event write is logged with the job and reason, and does not throw', async () => {
    const kube = new FakeKube();
    kube.failNext('Event.recordEvent', new KubeError(403, 'Forbidden', 'events is forbidden'));
    const lines = await captureLogs(() =>
      expect(
        new JobEventRecorder(kube, rootLogger).record({ namespace: 'jobs', name: 'j-8' }, 'Normal', 'Running', 'Reconcile', 'started'),
      ).resolves.toBeUndefined(),
    );
    expect(kube.events).toEqual([]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ msg: 'Could not record an Event', job: 'jobs/j-8', reason: 'Running' }),
    ]);
  });

  describe('emit (queued, not awaited)', () => {
    /** A recordEvent that holds every write open until release(). */
    function heldKube() {
      const started: KubeEvent[] = [];
      const written: KubeEvent[] = [];
      let open!: () => void;
      let gate = new Promise<void>((r) => (open = r));
      const kube = {
        recordEvent: async (ev: KubeEvent) => {
          started.push(ev);
          await gate;
          written.push(ev);
        },
      };
      const release = () => {
        open();
        gate = Promise.resolve();
      };
      return { kube, started, written, release };
    }
    const notRecorded = async (m: OperatorMetrics, cause: string) => (await m.eventsNotRecorded.get()).values.find((v) => v.labels.cause === cause)?.value ?? 0;

    it('writes at most maxInFlight at once, the rest in order as writes end, each with the time it was emitted', async () => {
      const { kube, started, written, release } = heldKube();
      const rec = new JobEventRecorder(kube, rootLogger, undefined, { maxInFlight: 2, maxQueued: 10 });
      const before = Date.now();
      for (const n of ['a', 'b', 'c', 'd']) rec.emit({ namespace: 'jobs', name: n }, 'Normal', 'Running', 'Reconcile', n);
      expect(started.map((e) => e.note)).toEqual(['a', 'b']);
      release();
      await rec.idle();
      expect(written.map((e) => e.note)).toEqual(['a', 'b', 'c', 'd']);
      expect(written.every((e) => e.at && e.at.getTime() >= before && e.at.getTime() <= Date.now())).toBe(true);
    });

    it('drops and counts Events past the queue limit, and a failed write, without throwing', async () => {
      const { kube, release } = heldKube();
      const metrics = new OperatorMetrics({ defaultMetrics: false });
      const rec = new JobEventRecorder(kube, rootLogger, metrics, { maxInFlight: 1, maxQueued: 2 });
      for (const n of ['a', 'b', 'c', 'd']) rec.emit({ namespace: 'jobs', name: n }, 'Normal', 'Running', 'Reconcile', n);
      expect(await notRecorded(metrics, 'overflow')).toBe(1);
      release();
      await rec.idle();
      const failing = new FakeKube();
      failing.failNext('Event.recordEvent', new KubeError(500, 'InternalError', 'etcd'));
      const rec2 = new JobEventRecorder(failing, rootLogger, metrics);
      await captureLogs(async () => {
        rec2.emit({ namespace: 'jobs', name: 'e' }, 'Warning', 'Failed', 'Reconcile', 'x');
        await rec2.idle();
      });
      expect(await notRecorded(metrics, 'error')).toBe(1);
    });

    it('close drops what waits (counted) and waits only for the writes in flight', async () => {
      const { kube, written, release } = heldKube();
      const metrics = new OperatorMetrics({ defaultMetrics: false });
      const rec = new JobEventRecorder(kube, rootLogger, metrics, { maxInFlight: 1, maxQueued: 10 });
      for (const n of ['a', 'b', 'c']) rec.emit({ namespace: 'jobs', name: n }, 'Normal', 'Running', 'Reconcile', n);
      const closed = rec.close();
      release();
      await closed;
      expect(written.map((e) => e.note)).toEqual(['a']);
      expect(await notRecorded(metrics, 'shutdown')).toBe(2);
    });
  });
});
