// A background writer's requests: at most `size` in flight, the rest in arrival order.
import { RequestSlots } from '../../../src/k8s/request-slots.js';
import { WritePriority } from '../../../src/k8s/write-priority.js';

describe('RequestSlots', () => {
  it('runs at most size at once and starts the waiting ones in arrival order', async () => {
    const slots = new RequestSlots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const task = (i: number) =>
      slots.run(async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await new Promise<void>((r) => gates.push(r));
        running--;
        return i;
      });
    const all = Promise.all([0, 1, 2, 3, 4].map(task));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    expect(slots.queued).toBe(3);
    while (order.length < 5 || gates.length) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await all).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('a failed request frees its slot', async () => {
    const slots = new RequestSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('409')))).rejects.toThrow('409');
    expect(await slots.run(() => Promise.resolve('next'))).toBe('next');
  });

  it('with a WritePriority, a request holds its slot until the state write in flight has ended', async () => {
    const priority = new WritePriority(10_000);
    const slots = new RequestSlots(2, priority);
    let endWrite!: () => void;
    const state = priority.stateWrite(() => new Promise<void>((r) => (endWrite = r)));
    const sent: string[] = [];
    const ack = slots.run(async () => sent.push('ack'));
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([]);
    endWrite();
    await state;
    await ack;
    expect(sent).toEqual(['ack']);
  });
});
