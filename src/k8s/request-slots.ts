// At most n requests of one background writer in flight, the rest waiting in arrival order.
//
// The apiserver connection pool is shared (max(32, workers + 16) connections, ADR 0029) and undici
// queues what does not fit in arrival order. A writer that fires a request per job at once (the
// reporter acknowledging a call of 100 jobs, accounting recording a batch of final charges) would
// queue the reconcile workers' status writes behind its own, and those are what UCloud/Core is
// waiting for after a restart. Bounded, the background writers leave the workers their connections;
// with a WritePriority, each request also gives way to the state writes in flight (write-priority.ts).
import type { WritePriority } from './write-priority.js';

export class RequestSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly size: number,
    private readonly priority?: WritePriority,
  ) {
    this.free = size;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      await this.priority?.background();
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  /** Requests waiting for a slot (tests). */
  get queued(): number {
    return this.waiting.length;
  }
}
