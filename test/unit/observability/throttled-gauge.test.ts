// The job-wide gauges are computed at scrape time; throttled() bounds what a fast scraper costs.
import { throttled } from '../../../src/observability/metrics.js';

describe('throttled scrape-time computation', () => {
  it('answers from the last result until 50 times its cost has passed, at most 5 s', () => {
    let t = 0;
    let calls = 0;
    // Each computation takes 20 ms of the fake clock: cached for 1,000 ms.
    const f = throttled(
      () => {
        calls++;
        t += 20;
        return calls;
      },
      () => t,
    );
    expect(f()).toBe(1);
    t += 500;
    expect(f()).toBe(1);
    t += 600;
    expect(f()).toBe(2);
    expect(calls).toBe(2);
  });

  it('a costly computation is still redone after 5 s', () => {
    let t = 0;
    let calls = 0;
    const f = throttled(
      () => {
        t += 1000; // 50 x 1 s would be 50 s
        return ++calls;
      },
      () => t,
    );
    f();
    t += 4000;
    expect(f()).toBe(1);
    t += 1500;
    expect(f()).toBe(2);
  });

  it('a cheap computation is not cached at all in practice', () => {
    let t = 0;
    let calls = 0;
    const f = throttled(
      () => ++calls,
      () => t,
    );
    f();
    t += 0.001;
    expect(f()).toBe(2);
  });
});
