// Which UCloudJob changes requeue a reconcile: spec, deletion, decided state, no-credits, and a
// final job's acknowledgements and charge watermark (retention waits for them); not a running
// job's acknowledgements or charges (those were most of the queue's work at scale:
// docs/performance.md; the reporter writes the Reported condition itself, ADR 0028).
import type { UCloudJob, UCloudJobStatus } from '../../../src/api/v1alpha1/ucloudjob.js';
import { reconcileRelevant } from '../../../src/controller/controller.js';
import { job } from '../../support/job-factory.js';

const at = '2026-11-22T10:00:00.000Z';
const running: UCloudJobStatus = {
  state: 'RUNNING',
  startedAt: at,
  outbox: { acknowledgedSeq: 1, entries: [{ seq: 1, at, state: 'RUNNING' }] },
  accounting: { chargedPeriods: 3 },
};
const withStatus = (status: UCloudJobStatus, over: Partial<UCloudJob['metadata']> = {}): UCloudJob => {
  const j = job({}, 'uid-1');
  return { ...j, metadata: { ...j.metadata, generation: 1, ...over }, status };
};
const fp = (s: UCloudJobStatus, over: Partial<UCloudJob['metadata']> = {}) => reconcileRelevant(withStatus(s, over));

describe('reconcileRelevant', () => {
  it('ignores the charge watermark of a running job and acknowledgements that leave nothing pending', () => {
    expect(fp({ ...running, accounting: { chargedPeriods: 4, lastChargeId: 'x', chargedAt: at } })).toBe(fp(running));
    const twoAcked = { ...running, outbox: { acknowledgedSeq: 2, entries: [...running.outbox!.entries, { seq: 2, at, status: 'x' }] } };
    expect(fp(twoAcked)).toBe(fp(running));
    expect(fp({ ...running, ranks: '1/2' })).toBe(fp(running));
  });

  it('sees spec changes, deletion, a new state and no credits', () => {
    const base = fp(running);
    expect(fp(running, { generation: 2 })).not.toBe(base);
    expect(fp(running, { deletionTimestamp: new Date(at) })).not.toBe(base);
    expect(fp({ ...running, state: 'SUCCESS' })).not.toBe(base);
    expect(fp({ ...running, insufficientFunds: true })).not.toBe(base);
  });

  it("ignores a running job's acknowledgements, pending or not; sees a final job's (retention waits for them)", () => {
    const pending = { acknowledgedSeq: 0, entries: running.outbox!.entries };
    expect(fp({ ...running, outbox: pending })).toBe(fp(running));
    const done: UCloudJobStatus = { ...running, state: 'SUCCESS', finishedAt: at };
    expect(fp({ ...done, outbox: pending })).not.toBe(fp(done));
  });

  it('sees the charge watermark of a final job (retention waits for the last charge)', () => {
    const done: UCloudJobStatus = { ...running, state: 'SUCCESS', finishedAt: at };
    expect(fp({ ...done, accounting: { chargedPeriods: 4 } })).not.toBe(fp(done));
  });
});
