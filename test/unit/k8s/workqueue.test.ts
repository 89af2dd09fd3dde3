import { WorkQueue } from '../../../src/k8s/workqueue.js';

describe('WorkQueue (client-go semantics)', () => {
  it('deduplicates keys that are queued but not yet taken', async () => {
    const q = new WorkQueue('t');
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands one key to two workers; a re-add while in flight is queued again on done', async () => {
    const q = new WorkQueue('t');
    q.add('a');
    const first = await q.get();
    q.add('a'); // arrives while "a" is being processed
    expect(q.length).toBe(0);
    let second: string | undefined;
    const waiting = q.get().then((k) => (second = k));
    await new Promise((r) => setImmediate(r));
    expect(second).toBeUndefined();
    q.done(first!);
    await waiting;
    expect(second).toBe('a');
  });

  it('a key added first goes ahead of the queued keys, and is moved there if it was queued already', async () => {
    const q = new WorkQueue('t');
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    q.add('e', { first: true });
    q.add('c', { first: true });
    q.add('b'); // an ordinary add leaves a queued key where it is
    const order: string[] = [];
    while (q.length) order.push((await q.get())!);
    expect(order).toEqual(['c', 'e', 'a', 'b', 'd']);
  });

  it('a key added first while in flight is queued at the front when done', async () => {
    const q = new WorkQueue('t');
    q.add('a');
    const taken = await q.get();
    q.add('b');
    q.add('a', { first: true });
    q.done(taken!);
    expect(await q.get()).toBe('a');
  });

  it('wakes a waiting worker when a key is added', async () => {
    const q = new WorkQueue('t');
    const got = q.get();
    q.add('x');
    await expect(got).resolves.toBe('x');
  });

  it('backs off exponentially per key and forget() resets it', async () => {
    const q = new WorkQueue('t', { baseDelayMs: 10, maxDelayMs: 1000 });
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.numRequeues('a')).toBe(2);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    const k = await q.get();
    expect(k).toBe('a');
  });

  it('addAfter keeps the earliest deadline of a key, whichever call came first', async () => {
    const q = new WorkQueue('t');
    q.addAfter('job', 60_000);
    q.addAfter('job', 20);
    q.addAfter('job', 30_000);
    // Delivered once, by the 20 ms deadline (a get() that waited for the 60 s one would time the test out).
    await expect(q.get()).resolves.toBe('job');
    q.done('job');
    expect(q.length).toBe(0);
    q.shutDown();
  });

  it('addAfter delivers the key later, and shutDown releases waiting workers', async () => {
    const q = new WorkQueue('t');
    q.addAfter('late', 20);
    expect(q.length).toBe(0);
    await expect(q.get()).resolves.toBe('late');
    const waiting = q.get();
    q.shutDown();
    await expect(waiting).resolves.toBeUndefined();
    q.add('ignored');
    expect(q.length).toBe(0);
  });
});
