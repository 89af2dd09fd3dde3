// A keyed work queue with client-go semantics (util/workqueue): a key is queued at most once,
// never processed by two workers at once (re-adds while in flight mark it dirty and it is queued
// again on done), and failures are retried with per-key exponential backoff. Level-triggered
// reconcilers only need keys: the worker reads the latest state from the cache itself.
import type { OperatorMetrics } from '../observability/metrics.js';

export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  /** Keys being processed, with when processing started (performance.now() ms). */
  private readonly processing = new Map<string, number>();
  private readonly dirty = new Set<string>();
  /** Dirty keys to be queued at the front when done (add with `first`). */
  private readonly dirtyFirst = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  constructor(
    readonly name: string,
    private readonly limiter: RateLimiterOptions = { baseDelayMs: 5, maxDelayMs: 60_000 },
    private readonly metrics?: OperatorMetrics,
  ) {
    metrics?.observeQueue({ name, processingSince: () => this.processing.values() });
  }

  get length(): number {
    return this.queue.length;
  }

  /**
   * `first`: the key goes to the front (moved there if it is already queued), for work that decides
   * something others wait for (a job's final state, which UCloud/Core is told of) while routine
   * work for thousands of keys is queued, as after a restart.
   */
  add(key: string, opts: { first?: boolean } = {}): void {
    if (this.shuttingDown) return;
    this.metrics?.workqueueAdds.inc({ name: this.name });
    if (this.processing.has(key)) {
      this.dirty.add(key);
      if (opts.first) this.dirtyFirst.add(key);
      return;
    }
    if (this.queued.has(key)) {
      const at = opts.first ? this.queue.indexOf(key) : -1;
      if (at > 0) {
        this.queue.splice(at, 1);
        this.queue.unshift(key);
      }
      return;
    }
    this.queued.add(key);
    this.addedAt.set(key, performance.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queued.delete(key);
      this.startProcessing(key);
      waiter(key);
      return;
    }
    if (opts.first) this.queue.unshift(key);
    else this.queue.push(key);
    this.metrics?.workqueueDepth.set({ name: this.name }, this.queue.length);
  }

  /**
   * Adds the key after a delay. Of several addAfter calls for one key the earliest deadline wins
   * (client-go's delaying queue): a job that waited for a 5-minute gang timeout and now has a
   * 3-second expiry must be looked at in 3 seconds, not in 5 minutes.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const due = performance.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { timer, due });
  }

  addRateLimited(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    this.metrics?.workqueueRetries.inc({ name: this.name });
    const delay = Math.min(this.limiter.maxDelayMs, this.limiter.baseDelayMs * 2 ** Math.min(n - 1, 30));
    this.addAfter(key, delay);
  }

  /** Clears the key's failure count (call after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resolves with the next key, or undefined once the queue is shut down and drained. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.metrics?.workqueueDepth.set({ name: this.name }, this.queue.length);
      this.startProcessing(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private startProcessing(key: string): void {
    this.processing.set(key, performance.now());
    const added = this.addedAt.get(key);
    if (added !== undefined) {
      this.metrics?.workqueueQueueDuration.observe({ name: this.name }, (performance.now() - added) / 1000);
      this.addedAt.delete(key);
    }
  }

  done(key: string): void {
    this.processing.delete(key);
    const first = this.dirtyFirst.delete(key);
    if (this.dirty.delete(key)) this.add(key, { first });
  }

  get inFlight(): number {
    return this.processing.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
