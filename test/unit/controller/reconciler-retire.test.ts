// jobs.retainFinishedSeconds: a final UCloudJob is deleted only once UCloud/Core has every update
// and every charge, and only after the retention period (in-memory apiserver, fixed clock).
import type { V1Pod } from '@kubernetes/client-node';
import type { UCloudJob, UCloudJobStatus } from '../../../src/api/v1alpha1/ucloudjob.js';
import { unitConfig } from '../../support/config.js';
import { FakeKube } from '../../support/fake-kube.js';
import { reconcilerOver } from '../../support/reconciler.js';
import { NS, job } from '../../support/job-factory.js';

const FINISHED = Date.parse('2026-11-22T10:00:00.000Z');
const STARTED = FINISHED - 5 * 60_000;

function finalStatus(over: Partial<UCloudJobStatus> = {}): UCloudJobStatus {
  return {
    state: 'SUCCESS',
    message: 'The job finished: its rank exited with code 0',
    startedAt: new Date(STARTED).toISOString(),
    finishedAt: new Date(FINISHED).toISOString(),
    outbox: { acknowledgedSeq: 2, entries: [] },
    accounting: { chargedPeriods: 5 },
    ...over,
  };
}

describe('reconciler: retiring settled jobs', () => {
  function setup(status: UCloudJobStatus, retainFinishedSeconds: number) {
    let now = new Date(FINISHED + 1000);
    const kube = new FakeKube(() => now);
    kube.seed('UCloudJob', { ...job({ jobId: '77' }, 'uid-77'), status } as UCloudJob);
    const reconciler = reconcilerOver(kube, {
      config: unitConfig({ namespace: NS, jobs: { retainFinishedSeconds } }),
      podsOf: () => [] as V1Pod[],
      now: () => now,
    });
    return { kube, reconciler, setNow: (t: number) => (now = new Date(t)) };
  }
  const exists = (kube: FakeKube) => kube.peek<UCloudJob>('UCloudJob', NS, 'j-77') !== undefined;

  it('keeps a settled job for the retention period, then deletes it', async () => {
    const { kube, reconciler, setNow } = setup(finalStatus(), 3600);
    const first = await reconciler.reconcile(NS, 'j-77');
    expect(first.requeueAfterMs).toBe(3599_000);
    expect(exists(kube)).toBe(true);
    setNow(FINISHED + 3600_000);
    await reconciler.reconcile(NS, 'j-77');
    expect(exists(kube)).toBe(false);
  });

  it('never deletes a job with an update UCloud/Core has not acknowledged', async () => {
    const pending = finalStatus({ outbox: { acknowledgedSeq: 1, entries: [{ seq: 2, at: new Date(FINISHED).toISOString(), state: 'SUCCESS' }] } });
    const { kube, reconciler, setNow } = setup(pending, 1);
    setNow(FINISHED + 86_400_000);
    await reconciler.reconcile(NS, 'j-77');
    expect(exists(kube)).toBe(true);
  });

  it('never deletes a job whose last charge window has not been charged', async () => {
    const { kube, reconciler, setNow } = setup(finalStatus({ accounting: { chargedPeriods: 4 } }), 1);
    setNow(FINISHED + 86_400_000);
    const res = await reconciler.reconcile(NS, 'j-77');
    expect(exists(kube)).toBe(true);
    expect(res.requeueAfterMs).toBe(5000);
  });

  it('keeps every job when retention is 0 (the default)', async () => {
    const { kube, reconciler, setNow } = setup(finalStatus(), 0);
    setNow(FINISHED + 86_400_000);
    await reconciler.reconcile(NS, 'j-77');
    expect(exists(kube)).toBe(true);
  });
});
