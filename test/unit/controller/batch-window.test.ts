// The reporter's batching window (batch-window.ts) driven by arrival sequences: a simulation of
// its loop (one call in flight, the window re-evaluated as changes arrive) counts the calls per
// 1,000 changes and the longest any change waited from arrival to Core's answer.
import { batchDelay } from '../../../src/controller/batch-window.js';

const BASE = 50;
const BUDGET = 500;
const TARGET = 60;
const CALL_MS = 40;

function simulate(arrivals: number[], cap = 1000): { calls: number; worstWaitMs: number } {
  const waiting: number[] = [];
  let next = 0;
  let busyUntil = -1;
  let calls = 0;
  let worst = 0;
  for (let t = 0; next < arrivals.length || waiting.length; t++) {
    while (next < arrivals.length && arrivals[next]! <= t) waiting.push(arrivals[next++]!);
    if (t < busyUntil || !waiting.length) continue;
    const recent = arrivals.slice(0, next).filter((a) => a > t - 1000).length;
    const delay = batchDelay({
      backlog: waiting.length,
      arrivalsPerSec: recent,
      oldestWaitMs: t - waiting[0]!,
      baseMs: BASE,
      maxDelayMs: BUDGET,
      targetPerCall: TARGET,
    });
    if (delay > 0) continue;
    const sent = waiting.splice(0, cap);
    calls++;
    busyUntil = t + CALL_MS;
    for (const a of sent) worst = Math.max(worst, busyUntil - a);
  }
  return { calls, worstWaitMs: worst };
}

const every = (n: number, gapMs: number, from = 0) => Array.from({ length: n }, (_, i) => from + i * gapMs);

describe('batchDelay', () => {
  it('a burst of 1,000 changes at once goes out in one call without waiting', () => {
    expect(simulate(every(1000, 0))).toEqual({ calls: 1, worstWaitMs: CALL_MS });
  });

  it('a burst of 1,000 changes over three seconds takes at most 20 calls and no change waits past the budget', () => {
    const r = simulate(every(1000, 3));
    expect(r.calls).toBeLessThanOrEqual(20);
    expect(r.worstWaitMs).toBeLessThanOrEqual(BUDGET + CALL_MS);
  });

  it('a steady 200 changes a second takes at most 20 calls per 1,000 changes', () => {
    const r = simulate(every(5000, 5));
    expect(r.calls / 5).toBeLessThanOrEqual(20);
    expect(r.worstWaitMs).toBeLessThanOrEqual(BUDGET + CALL_MS);
  });

  it('20 changes a second (one per base window) widen the window to the budget: one call per budget, not one per change', () => {
    const r = simulate(every(1000, 50));
    // 1,000 changes over 50 s: a call per ~budget (≈ 10 changes), ten times fewer than one per change.
    expect(r.calls).toBeLessThanOrEqual(Math.ceil((1000 * 50) / BUDGET) + 1);
    expect(r.worstWaitMs).toBeLessThanOrEqual(BUDGET + CALL_MS);
  });

  it('a change that comes alone waits only the base window', () => {
    const r = simulate(every(20, 2000));
    expect(r.calls).toBe(20);
    expect(r.worstWaitMs).toBeLessThanOrEqual(BASE + CALL_MS);
  });

  it('below 120 changes a second the budget bounds the batch: at 100 a second about 50 a call', () => {
    // ≤ 20 calls per 1,000 needs 60 a call; at 100 a second the 500 ms budget lets 50 through
    // (plus the first second, while the rate is measured).
    const r = simulate(every(1000, 10));
    expect(r.calls).toBeLessThanOrEqual(25);
    expect(r.worstWaitMs).toBeLessThanOrEqual(BUDGET + CALL_MS);
  });

  it('never waits past the budget, whatever the rate says', () => {
    expect(batchDelay({ backlog: 5, arrivalsPerSec: 30, oldestWaitMs: BUDGET, baseMs: BASE, maxDelayMs: BUDGET, targetPerCall: TARGET })).toBe(0);
    expect(batchDelay({ backlog: 5, arrivalsPerSec: 30, oldestWaitMs: 0, baseMs: BASE, maxDelayMs: BUDGET, targetPerCall: TARGET })).toBeLessThanOrEqual(
      BUDGET,
    );
  });
});
