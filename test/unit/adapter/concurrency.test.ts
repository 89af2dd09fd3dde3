import fc from 'fast-check';
import { mapLimited } from '../../../src/adapter/concurrency.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('mapLimited', () => {
  it('keeps order and never exceeds the limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (delays, limit) => {
        let active = 0;
        let peak = 0;
        const out = await mapLimited(delays, limit, async (d, i) => {
          peak = Math.max(peak, ++active);
          for (let k = 0; k < d; k++) await tick();
          active--;
          return i * 2;
        });
        expect(out).toEqual(delays.map((_, i) => i * 2));
        expect(peak).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 50 },
    );
  });

  it('starts nothing new after a failure and throws only when in-flight calls have settled', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const err = await mapLimited([0, 1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
      started.push(i);
      await tick();
      if (i === 1) throw new Error('boom');
      await tick();
      finished.push(i);
      return i;
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('boom');
    expect(started).toEqual([0, 1, 2]);
    expect(finished.sort()).toEqual([0, 2]);
  });

  it('handles an empty list', async () => {
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
  });
});
