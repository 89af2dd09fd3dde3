// Background writes give way to the state writes in flight, never for longer than the bound.
import { WritePriority } from '../../../src/k8s/write-priority.js';

const turn = () => new Promise((r) => setImmediate(r));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WritePriority', () => {
  it('lets a background write go at once when no state write is in flight', async () => {
    const p = new WritePriority(10_000);
    let gone = false;
    void p.background().then(() => (gone = true));
    await turn();
    expect(gone).toBe(true);
    expect(p.waitingBackground).toBe(0);
  });

  it('holds background writes while a state write is in flight and lets them go after it', async () => {
    const p = new WritePriority(10_000);
    const write = deferred();
    const state = p.stateWrite(() => write.promise.then(() => 'stored'));
    expect(p.stateWritesInFlight).toBe(1);
    const order: string[] = [];
    const bg = [p.background().then(() => order.push('ack')), p.background().then(() => order.push('event'))];
    await turn();
    expect(order).toEqual([]);
    expect(p.waitingBackground).toBe(2);
    write.resolve();
    expect(await state).toBe('stored');
    await Promise.all(bg);
    expect(order).toEqual(['ack', 'event']);
    expect(p.stateWritesInFlight).toBe(0);
  });

  it('keeps them waiting when the next state write starts in the same turn as the last one ends', async () => {
    const p = new WritePriority(10_000);
    const first = deferred();
    const second = deferred();
    let gone = false;
    // A worker: its next job's state write begins as soon as the last one returns.
    const worker = p.stateWrite(() => first.promise).then(() => p.stateWrite(() => second.promise));
    void p.background().then(() => (gone = true));
    first.resolve();
    await turn();
    await turn();
    expect(p.stateWritesInFlight).toBe(1);
    expect(gone).toBe(false);
    second.resolve();
    await worker;
    await turn();
    await turn();
    expect(gone).toBe(true);
  });

  it('lets a background write go after the bound even while state writes never stop', async () => {
    const p = new WritePriority(30);
    const write = deferred();
    const state = p.stateWrite(() => write.promise);
    const t0 = Date.now();
    await p.background();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(p.waitingBackground).toBe(0);
    write.resolve();
    await state;
  });

  it('counts a failed state write out', async () => {
    const p = new WritePriority(10_000);
    await expect(p.stateWrite(() => Promise.reject(new Error('409')))).rejects.toThrow('409');
    expect(p.stateWritesInFlight).toBe(0);
    let gone = false;
    void p.background().then(() => (gone = true));
    await turn();
    expect(gone).toBe(true);
  });
});
