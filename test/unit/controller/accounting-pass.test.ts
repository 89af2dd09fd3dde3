// The Accounting controller against the in-memory apiserver: a pass charges what is due and
// records the watermark, and a final job the informer delivers is charged its last window within
// the batching window (not one whole accounting interval later). Fake timers: nothing here waits on the wall clock.
import { jest } from '@jest/globals';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { Accounting } from '../../../src/controller/accounting.js';
import { rootLogger } from '../../../src/observability/log.js';
import type { ChargeItem, ChargeResult } from '../../../src/ucloud/control-api.js';
import { ControlApiError, type ChargeOutcome, type DeliveryOutcome, type JobsControlPort } from '../../../src/ucloud/control-client.js';
import { FakeKube } from '../../support/fake-kube.js';
import { job, NS } from '../../support/job-factory.js';

const START = Date.parse('2026-11-22T10:00:00.000Z');
const MIN = 60_000;

class RecordingControl implements JobsControlPort {
  readonly charged: ChargeItem[][] = [];
  async update(): Promise<void> {}
  async chargeCredits(items: ChargeItem[]): Promise<ChargeResult> {
    this.charged.push(items);
    return { insufficientFunds: [], duplicateCharges: [] } as unknown as ChargeResult;
  }
  async checkCredits(): Promise<ChargeResult> {
    return { insufficientFunds: [], duplicateCharges: [] } as unknown as ChargeResult;
  }
  async deliverUpdates(): Promise<DeliveryOutcome> {
    return { rejected: [] };
  }
  async deliverCharges(items: ChargeItem[]): Promise<ChargeOutcome> {
    return { ...(await this.chargeCredits(items)), rejected: [] };
  }
  async knowsJob(): Promise<boolean> {
    return true;
  }
  async browseSshKeys() {
    return [];
  }
}

/** Core with a set of jobs it has forgotten: their charges come back rejected as unknown_job. */
class ForgetfulControl extends RecordingControl {
  constructor(readonly forgotten: Set<string>) {
    super();
  }
  override async deliverCharges(items: ChargeItem[]): Promise<ChargeOutcome> {
    const gone = [...new Set(items.filter((i) => this.forgotten.has(i.id)).map((i) => i.id))];
    const res = await this.chargeCredits(items.filter((i) => !this.forgotten.has(i.id)));
    const error = new ControlApiError({ status: 400, why: 'Could not fetch jobs: 403 Write permission is required', kind: 'rejected', call: 'chargeCredits' });
    return { ...res, rejected: gone.map((id) => ({ id, verdict: 'unknown_job' as const, error })) };
  }
}

describe('Accounting passes', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: START + 2 * MIN + 30_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('a job is charged its last window as soon as the informer delivers its final status, not a whole interval later', async () => {
    const kube = new FakeKube();
    const running: UCloudJob = {
      ...job({ jobId: '77' }),
      status: { state: 'RUNNING', startedAt: new Date(START).toISOString(), accounting: { chargedPeriods: 2 } },
    };
    kube.seed('UCloudJob', running);
    const final: UCloudJob = { ...running, status: { ...running.status, state: 'SUCCESS', finishedAt: new Date(START + 2 * MIN + 20_000).toISOString() } };
    let cached: UCloudJob = running;
    const control = new RecordingControl();
    const accounting = new Accounting({ kube, control, listJobs: () => [cached], logger: rootLogger, intervalMs: MIN });
    accounting.start();

    // A running job's incomplete window is not due: the feed queues nothing.
    accounting.observe(cached, 'update');
    await jest.advanceTimersByTimeAsync(1000);
    expect(control.charged).toEqual([]);

    // The cache delivers the final status: charged within the batching window, not a minute later.
    cached = final;
    accounting.observe(cached, 'update');
    await jest.advanceTimersByTimeAsync(150);
    expect(control.charged).toEqual([[{ id: '77', chargeId: `77_${START + 2 * MIN}`, units: 1, periods: 1 }]]);
    expect(kube.peek<UCloudJob>('UCloudJob', NS, 'j-77')?.status?.accounting?.chargedPeriods).toBe(3);

    // Its own watermark patch arriving through the informer is not charged again.
    cached = kube.peek<UCloudJob>('UCloudJob', NS, 'j-77')!;
    accounting.observe(cached, 'update');
    await jest.advanceTimersByTimeAsync(150);
    expect(control.charged).toHaveLength(1);
    await accounting.stop();
  });

  it('a job whose ranks all ended while nobody looked is not billed past that, though the cache still says RUNNING', async () => {
    const kube = new FakeKube();
    const stale: UCloudJob = { ...job({ jobId: '78' }), status: { state: 'RUNNING', startedAt: new Date(START).toISOString() } };
    kube.seed('UCloudJob', stale);
    const control = new RecordingControl();
    // Now is 2.5 minutes after the start; the pods say the only rank ended at 1 min 10 s.
    const accounting = new Accounting({
      kube,
      control,
      listJobs: () => [stale],
      logger: rootLogger,
      intervalMs: MIN,
      ranksEndedAt: () => START + MIN + 10_000,
    });
    await accounting.pass();
    expect(control.charged).toEqual([[{ id: '78', chargeId: `78_${START}`, units: 1, periods: 1 }]]);
    expect(kube.peek<UCloudJob>('UCloudJob', NS, 'j-78')?.status?.accounting?.chargedPeriods).toBe(1);
  });

  it('charges no running job while the caches are catching up, and still charges the last window of an ended one', async () => {
    const kube = new FakeKube();
    const running: UCloudJob = { ...job({ jobId: '79' }), status: { state: 'RUNNING', startedAt: new Date(START).toISOString() } };
    const ended: UCloudJob = {
      ...job({ jobId: '80' }),
      status: { state: 'SUCCESS', startedAt: new Date(START).toISOString(), finishedAt: new Date(START + 30_000).toISOString() },
    };
    kube.seed('UCloudJob', running);
    kube.seed('UCloudJob', ended);
    const control = new RecordingControl();
    let cachesCurrent = false;
    const accounting = new Accounting({
      kube,
      control,
      listJobs: () => ['j-79', 'j-80'].map((n) => kube.peek<UCloudJob>('UCloudJob', NS, n)!),
      logger: rootLogger,
      intervalMs: MIN,
      cachesCurrent: () => cachesCurrent,
    });
    await accounting.pass();
    expect(control.charged).toEqual([[{ id: '80', chargeId: `80_${START}`, units: 1, periods: 1 }]]);
    cachesCurrent = true;
    await accounting.pass();
    // (80's watermark was recorded by the first pass: it is not sent again.)
    expect(control.charged[1]?.map((c) => c.chargeId)).toEqual([`79_${START}`, `79_${START + MIN}`]);
  });

  it("writes a running job's watermark at most every persistEveryMs, resends nothing meanwhile, and always writes a final one", async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', { ...job({ jobId: '81' }), status: { state: 'RUNNING', startedAt: new Date(START).toISOString() } } as UCloudJob);
    const control = new RecordingControl();
    const stored = () => kube.peek<UCloudJob>('UCloudJob', NS, 'j-81')!;
    let cached = stored();
    const accounting = new Accounting({ kube, control, listJobs: () => [cached], logger: rootLogger, intervalMs: MIN, persistEveryMs: 10 * MIN });
    // Now: 2.5 min in. First pass: two windows, watermark written (nothing written before).
    await accounting.pass();
    expect(control.charged.flat().map((c) => c.chargeId)).toEqual([`81_${START}`, `81_${START + MIN}`]);
    expect(stored().status?.accounting?.chargedPeriods).toBe(2);
    cached = stored();
    // A minute later: the third window, remembered but not written (written 1 minute ago).
    jest.setSystemTime(START + 3 * MIN + 30_000);
    kube.calls.length = 0;
    await accounting.pass();
    expect(control.charged[1]?.map((c) => c.chargeId)).toEqual([`81_${START + 2 * MIN}`]);
    expect(kube.writes()).toEqual([]);
    // The next pass does not resend it although the cache still says 2.
    await accounting.pass();
    expect(control.charged).toHaveLength(2);
    // A new process (no memory) resends the unwritten window identically: Core counts it once.
    const fresh = new Accounting({ kube, control, listJobs: () => [cached], logger: rootLogger, intervalMs: MIN, persistEveryMs: 10 * MIN });
    await fresh.pass();
    expect(control.charged[2]).toEqual(control.charged[1]);
    // Final: the last window and its watermark are written at once.
    jest.setSystemTime(START + 3 * MIN + 40_000);
    cached = { ...cached, status: { ...cached.status!, state: 'SUCCESS', finishedAt: new Date(START + 3 * MIN + 35_000).toISOString() } };
    await accounting.pass();
    expect(control.charged[3]?.map((c) => [c.chargeId, c.periods])).toEqual([[`81_${START + 3 * MIN}`, 1]]);
    expect(stored().status?.accounting?.chargedPeriods).toBe(4);
  });

  it('writes the remembered watermark of a job that ended with every window charged, and on stop', async () => {
    const kube = new FakeKube();
    const seeded = (id: string) =>
      kube.seed('UCloudJob', { ...job({ jobId: id }), status: { state: 'RUNNING', startedAt: new Date(START).toISOString() } } as UCloudJob);
    seeded('82');
    seeded('83');
    const control = new RecordingControl();
    const stored = (id: string) => kube.peek<UCloudJob>('UCloudJob', NS, `j-${id}`)!;
    const cache = new Map(['82', '83'].map((id) => [id, stored(id)]));
    const accounting = new Accounting({ kube, control, listJobs: () => [...cache.values()], logger: rootLogger, intervalMs: MIN, persistEveryMs: 10 * MIN });
    await accounting.pass(); // 2.5 min in: windows 0 and 1 of both, written (first write)
    for (const id of ['82', '83']) cache.set(id, stored(id));
    jest.setSystemTime(START + 3 * MIN + 10_000);
    await accounting.pass(); // window 2 of both: remembered only
    expect(stored('82').status?.accounting?.chargedPeriods).toBe(2);
    // 82 expires exactly at the end of window 2: nothing more is due, but its watermark is written.
    cache.set('82', { ...cache.get('82')!, status: { ...cache.get('82')!.status!, state: 'EXPIRED', finishedAt: new Date(START + 3 * MIN).toISOString() } });
    await accounting.pass();
    expect(control.charged).toHaveLength(2);
    expect(stored('82').status?.accounting?.chargedPeriods).toBe(3);
    expect(stored('82').status?.accounting?.lastChargeId).toBe(`82_${START + 2 * MIN}`);
    // 83 is still running: stop() writes what only memory knew.
    expect(stored('83').status?.accounting?.chargedPeriods).toBe(2);
    await accounting.stop();
    expect(stored('83').status?.accounting?.chargedPeriods).toBe(3);
  });
  it('counts the due, unacknowledged windows and how long the oldest has waited, and none once charged', async () => {
    const kube = new FakeKube();
    // Now is 2.5 minutes after the start: two one-minute windows are due, the first closed 90 s ago.
    let cached: UCloudJob = { ...job({ jobId: '79' }), status: { state: 'RUNNING', startedAt: new Date(START).toISOString() } };
    kube.seed('UCloudJob', cached);
    const control = new RecordingControl();
    const accounting = new Accounting({ kube, control, listJobs: () => [cached], logger: rootLogger, intervalMs: MIN });
    expect(accounting.uncharged()).toEqual({ windows: 2, oldestClosedAt: START + MIN });
    await accounting.pass();
    expect(control.charged.flat().map((i) => i.periods)).toEqual([1, 1]);
    // Acknowledged (remembered in memory until written): nothing is due any more.
    expect(accounting.uncharged()).toEqual({ windows: 0, oldestClosedAt: undefined });
    cached = kube.peek<UCloudJob>('UCloudJob', NS, 'j-79')!;
    expect(accounting.uncharged().windows).toBe(0);
  });

  it('a job Core forgot is marked with the watermark Core accepted, and never charged again; the others are', async () => {
    const kube = new FakeKube();
    for (const id of ['90', '91', '92']) {
      kube.seed('UCloudJob', { ...job({ jobId: id }), status: { state: 'RUNNING', startedAt: new Date(START).toISOString() } } as UCloudJob);
    }
    const stored = (id: string) => kube.peek<UCloudJob>('UCloudJob', NS, `j-${id}`)!;
    const cache = () => ['90', '91', '92'].map(stored);
    const control = new ForgetfulControl(new Set());
    const accounting = new Accounting({ kube, control, listJobs: cache, logger: rootLogger, intervalMs: MIN, persistEveryMs: 10 * MIN });
    await accounting.pass(); // windows 0 and 1 of all three: written (first write)
    jest.setSystemTime(START + 3 * MIN + 10_000);
    await accounting.pass(); // window 2: remembered only
    expect(stored('91').status?.accounting?.chargedPeriods).toBe(2);

    control.forgotten.add('91'); // Core deleted job 91
    jest.setSystemTime(START + 4 * MIN + 10_000);
    await accounting.pass();
    // The others' window 3 went through; 91's was refused and 91 is marked, with the watermark
    // (3 periods) Core had accepted before it forgot the job.
    expect(
      control.charged
        .at(-1)!
        .map((c) => c.id)
        .sort(),
    ).toEqual(['90', '92']);
    expect(stored('91').status?.unknownToCore).toMatchObject({ call: 'chargeCredits', why: 'Could not fetch jobs: 403 Write permission is required' });
    expect(stored('91').status?.accounting?.chargedPeriods).toBe(3);
    expect(kube.events.filter((e) => e.reason === 'UnknownToCore')).toHaveLength(1);

    const sent = control.charged.flat().length;
    jest.setSystemTime(START + 6 * MIN + 10_000);
    await accounting.pass();
    expect(
      control.charged
        .flat()
        .slice(sent)
        .map((c) => c.id),
    ).not.toContain('91');
  });
});
