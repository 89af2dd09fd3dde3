import { chargePeriodMillis, dueWindows, periodMillis, windowPeriods } from '../../../src/controller/accounting.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { job as ucloudJob } from '../../support/job-factory.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

function job(status: UCloudJob['status'], unitOfPrice = 'CREDITS_PER_MINUTE', replicas = 2): UCloudJob {
  const j = ucloudJob({ jobId: '1', replicas });
  return { ...j, spec: { ...j.spec, product: { ...j.spec.product, unitOfPrice } }, status };
}
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

describe('accounting windows', () => {
  it('maps price units to period lengths', () => {
    expect(periodMillis('CREDITS_PER_MINUTE')).toBe(MIN);
    expect(periodMillis('UNITS_PER_HOUR')).toBe(60 * MIN);
    expect(periodMillis('CREDITS_PER_DAY')).toBe(24 * 60 * MIN);
    expect(periodMillis('PER_UNIT')).toBeUndefined();
    expect(windowPeriods(MIN, MIN)).toBe(1);
    expect(windowPeriods(5 * MIN, MIN)).toBe(5);
    expect(windowPeriods(MIN, 60 * MIN)).toBe(1);
  });

  it('scales every price unit with a shortened minute (accounting.minuteMillis, for tests and demos)', () => {
    expect(periodMillis('CREDITS_PER_MINUTE', 1000)).toBe(1000);
    expect(periodMillis('CREDITS_PER_HOUR', 1000)).toBe(60_000);
    const w = dueWindows(job({ state: 'RUNNING', startedAt: iso(0) }), at(2500), 1000, 1000);
    expect(w.map((x) => [x.chargeId, x.periods])).toEqual([
      [`1_${T0}`, 1],
      [`1_${T0 + 1000}`, 1],
    ]);
  });

  it('never charges a job that has not ended yet past its expiry or its termination request', () => {
    // The operator was away: the job expired at 2 min, the reconciler has not said so yet.
    const expired = job({ state: 'RUNNING', startedAt: iso(0), expiresAt: iso(2 * MIN) });
    expect(dueWindows(expired, at(10 * MIN), MIN).map((x) => x.chargedPeriodsAfter)).toEqual([1, 2]);
    const terminated = job({ state: 'RUNNING', startedAt: iso(0) });
    terminated.spec.terminationRequestedAt = iso(3 * MIN + 30_000);
    expect(dueWindows(terminated, at(10 * MIN), MIN).map((x) => x.chargedPeriodsAfter)).toEqual([1, 2, 3]);
    // Its ranks all ended at 2.5 min while the operator was away (the reconciler has not caught up).
    const ended = job({ state: 'RUNNING', startedAt: iso(0) });
    expect(dueWindows(ended, at(10 * MIN), MIN, MIN, T0 + 2 * MIN + 30_000).map((x) => x.chargedPeriodsAfter)).toEqual([1, 2]);
    // Once final, the partial last window is charged rounded up, as ever.
    const done = job({ ...terminated.status, state: 'SUCCESS', startedAt: iso(0), finishedAt: iso(3 * MIN + 30_000), accounting: { chargedPeriods: 3 } });
    expect(dueWindows(done, at(10 * MIN), MIN)).toEqual([{ id: '1', chargeId: `1_${T0 + 3 * MIN}`, units: 2, periods: 1, chargedPeriodsAfter: 4 }]);
  });

  it('charges nothing before the job starts or before the first window completes', () => {
    expect(dueWindows(job({ state: 'IN_QUEUE' }), at(10 * MIN), MIN)).toEqual([]);
    expect(dueWindows(job({ state: 'RUNNING', startedAt: iso(0) }), at(59_999), MIN)).toEqual([]);
  });

  it('charges every complete window of a running job, with chargeIds from window starts', () => {
    const w = dueWindows(job({ state: 'RUNNING', startedAt: iso(0) }), at(3 * MIN + 5000), MIN);
    expect(w).toEqual([
      { id: '1', chargeId: `1_${T0}`, units: 2, periods: 1, chargedPeriodsAfter: 1 },
      { id: '1', chargeId: `1_${T0 + MIN}`, units: 2, periods: 1, chargedPeriodsAfter: 2 },
      { id: '1', chargeId: `1_${T0 + 2 * MIN}`, units: 2, periods: 1, chargedPeriodsAfter: 3 },
    ]);
  });

  it("charges a running job's window only settleMs after it closes, so a job that ended just before the boundary is not billed for it", () => {
    // The chaos run's case: 20 one-second "minutes" per window; the job ended at 19.4 s, but the
    // caches still said RUNNING at 20.0 s. At the boundary (and until 5 s later) nothing is due.
    const SEC = 1000;
    const running = job({ state: 'RUNNING', startedAt: iso(0) });
    expect(dueWindows(running, at(20 * SEC), 20 * SEC, SEC, undefined, 5 * SEC)).toEqual([]);
    expect(dueWindows(running, at(24.9 * SEC), 20 * SEC, SEC, undefined, 5 * SEC)).toEqual([]);
    // By then the cache shows the end, and the window is charged for what ran: 20 periods (ceil of 19.4 s).
    const ended = job({ state: 'SUCCESS', startedAt: iso(0), finishedAt: iso(19_400) });
    expect(dueWindows(ended, at(25 * SEC), 20 * SEC, SEC, undefined, 5 * SEC)).toEqual([
      { id: '1', chargeId: `1_${T0}`, units: 2, periods: 20, chargedPeriodsAfter: 20 },
    ]);
    // A job that keeps running is charged the complete window once it has settled.
    expect(dueWindows(running, at(25 * SEC), 20 * SEC, SEC, undefined, 5 * SEC).map((w) => w.periods)).toEqual([20]);
    // A finished job's last window does not wait: its end is persisted.
    const short = job({ state: 'SUCCESS', startedAt: iso(0), finishedAt: iso(3_000) });
    expect(dueWindows(short, at(3_100), 20 * SEC, SEC, undefined, 5 * SEC).map((w) => w.periods)).toEqual([3]);
  });

  it('resumes from the watermark and resends identical windows when the watermark was not recorded', () => {
    const running = job({ state: 'RUNNING', startedAt: iso(0), accounting: { chargedPeriods: 2 } });
    const first = dueWindows(running, at(3 * MIN + 1), MIN);
    const later = dueWindows(running, at(3 * MIN + 40_000), MIN);
    expect(first).toEqual(later);
    expect(first.map((x) => x.chargeId)).toEqual([`1_${T0 + 2 * MIN}`]);
  });

  it('charges the last partial window rounded up once the job has finished, exactly once', () => {
    const done = job({
      state: 'SUCCESS',
      startedAt: iso(0),
      finishedAt: iso(2 * MIN + 10_000),
      accounting: { chargedPeriods: 2 },
    });
    const w = dueWindows(done, at(60 * MIN), MIN);
    expect(w).toEqual([{ id: '1', chargeId: `1_${T0 + 2 * MIN}`, units: 2, periods: 1, chargedPeriodsAfter: 3 }]);
    const after = job({ ...done.status, accounting: { chargedPeriods: 3 } });
    expect(dueWindows(after, at(61 * MIN), MIN)).toEqual([]);
  });

  it('sums to max(1, ceil(running time / period)) for larger windows and hourly products', () => {
    for (const [unit, interval, runMs] of [
      ['CREDITS_PER_MINUTE', 5 * MIN, 17 * MIN + 1],
      ['CREDITS_PER_HOUR', MIN, 150 * MIN],
      ['CREDITS_PER_MINUTE', MIN, 0],
    ] as const) {
      const period = periodMillis(unit)!;
      let status: UCloudJob['status'] = { state: 'RUNNING', startedAt: iso(0) };
      let total = 0;
      // the job runs, charged at random-ish moments, then ends and is charged once more
      for (const t of [interval, 2 * interval + 17, runMs]) {
        if (t > runMs) continue;
        for (const w of dueWindows(job(status, unit), at(t), interval)) {
          total += w.periods;
          status = { ...status, accounting: { chargedPeriods: w.chargedPeriodsAfter } };
        }
      }
      status = { ...status, state: 'SUCCESS', finishedAt: iso(runMs) };
      for (const w of dueWindows(job(status, unit), at(runMs + 10 * interval), interval)) total += w.periods;
      expect({ unit, interval, runMs, total }).toEqual({ unit, interval, runMs, total: Math.max(1, Math.ceil(runMs / period)) });
    }
  });

  it('charges PER_UNIT products one period, once', () => {
    const w = dueWindows(job({ state: 'RUNNING', startedAt: iso(0) }, 'PER_UNIT'), at(1000), MIN);
    expect(w).toEqual([{ id: '1', chargeId: `1_${T0}`, units: 2, periods: 1, chargedPeriodsAfter: 1 }]);
    expect(dueWindows(job({ state: 'RUNNING', startedAt: iso(0), accounting: { chargedPeriods: 1 } }, 'PER_UNIT'), at(9e6), MIN)).toEqual([]);
  });
});

describe('a job that ran for less than a second', () => {
  it('is charged one period, once', () => {
    const ended = job({ state: 'SUCCESS', startedAt: iso(0), finishedAt: iso(0) });
    expect(dueWindows(ended, at(5000), MIN)).toEqual([{ id: '1', chargeId: `1_${T0}`, units: 2, periods: 1, chargedPeriodsAfter: 1 }]);
    expect(dueWindows(job({ ...ended.status, accounting: { chargedPeriods: 1 } }), at(5000), MIN)).toEqual([]);
  });
});

describe('chargePeriodMillis', () => {
  const product = (unitOfPrice: string, accountingFrequency?: 'ONCE' | 'PERIODIC_MINUTE' | 'PERIODIC_HOUR' | 'PERIODIC_DAY') => ({
    id: 'p',
    category: 'c',
    provider: 'x',
    cpu: 1,
    memoryInGigs: 1,
    gpu: 0,
    unitOfPrice,
    ...(accountingFrequency ? { accountingFrequency } : {}),
  });
  it("follows the category's accountingFrequency over the configured unitOfPrice", () => {
    expect(chargePeriodMillis(product('CREDITS_PER_MINUTE', 'PERIODIC_HOUR'), 1000)).toBe(60_000);
    expect(chargePeriodMillis(product('CREDITS_PER_HOUR', 'PERIODIC_MINUTE'), 1000)).toBe(1000);
    expect(chargePeriodMillis(product('CREDITS_PER_MINUTE', 'PERIODIC_DAY'), 1000)).toBe(24 * 60_000);
    expect(chargePeriodMillis(product('CREDITS_PER_MINUTE', 'ONCE'), 1000)).toBeUndefined();
  });
  it('falls back to unitOfPrice when Core sent no frequency', () => {
    expect(chargePeriodMillis(product('CREDITS_PER_HOUR'), 1000)).toBe(60_000);
  });
});

describe('dueWindows with the category accountingFrequency', () => {
  const withFrequency = (status: UCloudJob['status'], accountingFrequency: 'ONCE' | 'PERIODIC_HOUR', unitOfPrice = 'CREDITS_PER_MINUTE') => {
    const j = job(status, unitOfPrice);
    j.spec.product.accountingFrequency = accountingFrequency;
    return j;
  };
  it('PERIODIC_HOUR over a per-minute unitOfPrice: a finished 90-minute job is two hour periods', () => {
    const done = withFrequency({ state: 'SUCCESS', startedAt: iso(0), finishedAt: iso(90 * MIN) }, 'PERIODIC_HOUR');
    const windows = dueWindows(done, at(91 * MIN), 60 * MIN);
    expect(windows.reduce((s, w) => s + w.periods, 0)).toBe(2);
    expect(windows.at(-1)?.chargedPeriodsAfter).toBe(2);
  });
  it('ONCE: one charge of one period, never again', () => {
    const running = withFrequency({ state: 'RUNNING', startedAt: iso(0) }, 'ONCE');
    expect(dueWindows(running, at(5 * MIN), MIN)).toEqual([{ id: '1', chargeId: `1_${T0}`, units: 2, periods: 1, chargedPeriodsAfter: 1 }]);
    running.status!.accounting = { chargedPeriods: 1 };
    expect(dueWindows(running, at(500 * MIN), MIN)).toEqual([]);
  });
});
