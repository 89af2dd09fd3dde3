// The read-your-writes helper: a writer's copy stands in for the cache until the cache holds the
// written resourceVersion (or newer), shows the written fields, or holds another incarnation.
import { ReadYourWrites, caughtUp } from '../../../src/k8s/read-your-writes.js';

interface Obj {
  metadata: { uid?: string; resourceVersion?: string };
  seq: number;
}
const obj = (resourceVersion: string, seq: number, uid = 'u1'): Obj => ({ metadata: { uid, resourceVersion }, seq });

describe('ReadYourWrites', () => {
  const rw = () => new ReadYourWrites<Obj, number>((cached, seq) => cached.seq >= seq);

  it('keeps what was written until the cache delivers that resourceVersion, then drops it', () => {
    const r = rw();
    r.wrote('ns/a', obj('12', 0), 3); // the patch answered with version 12 (the overlay is what we wrote)
    expect(r.pending('ns/a', obj('11', 0))).toBe(3);
    expect(r.size).toBe(1);
    expect(r.pending('ns/a', obj('12', 0))).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('a write-behind copy (no version yet) lasts until the cache shows its fields', () => {
    const r = rw();
    r.wrote('ns/a', undefined, 5, 'u1');
    expect(r.pending('ns/a', obj('99', 4))).toBe(5);
    expect(r.pending('ns/a', obj('100', 5))).toBeUndefined();
  });

  it('another incarnation of the name wins for good', () => {
    const r = rw();
    r.wrote('ns/a', undefined, 5, 'u1');
    expect(r.pending('ns/a', obj('1', 0, 'u2'))).toBeUndefined();
    expect(r.pending('ns/a', obj('1', 0, 'u1'))).toBeUndefined();
  });

  it('keeps the incarnation it acted on when the answer arrives', () => {
    const r = rw();
    r.wrote('ns/a', undefined, 5, 'u1');
    r.wrote('ns/a', obj('20', 5, 'u1'), 5);
    expect(r.pending('ns/a', obj('19', 0, 'u1'))).toBe(5);
  });

  it('retain drops copies of objects that are gone', () => {
    const r = rw();
    r.wrote('ns/a', undefined, 1, 'u1');
    r.wrote('ns/b', undefined, 1, 'u2');
    r.retain((k) => k === 'ns/b');
    expect(r.entries()).toEqual([['ns/b', 1]]);
  });

  it('compares etcd revisions numerically and anything else for equality only', () => {
    expect(caughtUp('100', '99')).toBe(true);
    expect(caughtUp('99', '100')).toBe(false);
    expect(caughtUp('abc', 'abc')).toBe(true);
    expect(caughtUp('abd', 'abc')).toBe(false);
    expect(caughtUp(undefined, '1')).toBe(false);
    expect(caughtUp('1', undefined)).toBe(false);
  });
});
