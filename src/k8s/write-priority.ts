// Which apiserver writes go first: a job's state (what UCloud/Core is waiting for) before the writes
// that only follow it (docs/adr/0031).
//
// On a busy apiserver every write costs about the same (a round to etcd, a watch event to every
// watcher), so what a burst of writes finishes first is what it sends first. After a restart with
// 1,000 of 10,000 jobs ended while the operator was down, the workers' 1,000 final-state writes
// shared the apiserver with ~2,300 writes that only follow them (acknowledgement patches of the
// reporter, accounting's watermarks, Events): the final states, and so the reports, had less than
// half of the writes the apiserver took meanwhile (docs/performance.md, f1). So a background
// writer waits while any state write is in flight, at most `maxWaitMs` per write: under a steady
// stream of state writes it still makes progress, only slower.
//
// State writes are never held back: the gate only orders what the process itself sends.

/** How long a background write waits for the state writes at most. */
export const MAX_BACKGROUND_WAIT_MS = 1000;

export class WritePriority {
  private stateWrites = 0;
  private readonly waiting = new Set<() => void>();
  private releasing = false;

  constructor(private readonly maxWaitMs = MAX_BACKGROUND_WAIT_MS) {}

  /** State writes in flight now (teardown-timing.ts also gives way to them). */
  get stateWritesInFlight(): number {
    return this.stateWrites;
  }

  /** Background writes waiting for the state writes (tests). */
  get waitingBackground(): number {
    return this.waiting.size;
  }

  /** Runs a write of a job's state: counted while in flight. */
  async stateWrite<T>(fn: () => Promise<T>): Promise<T> {
    this.stateWrites++;
    try {
      return await fn();
    } finally {
      this.stateWrites--;
      if (this.stateWrites === 0) this.release();
    }
  }

  /** Resolves once no state write is in flight, or after `maxWaitMs`: call it before a background write. */
  async background(): Promise<void> {
    if (this.stateWrites === 0) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.maxWaitMs);
      this.waiting.add(done);
    });
  }

  /**
   * A worker whose state write just ended usually starts the next job's within the same turn of
   * the event loop: the waiting writes go only if none has started by the next one.
   */
  private release(): void {
    if (this.releasing || !this.waiting.size) return;
    this.releasing = true;
    setImmediate(() => {
      this.releasing = false;
      if (this.stateWrites === 0) for (const done of [...this.waiting]) done();
    });
  }
}
