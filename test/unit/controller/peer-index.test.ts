// The peer index answers both ways (who a job names, who names a job), and forgets a job's
// names when they change or the job is gone, so no stale requeue follows a job forever.
import { PeerIndex } from '../../../src/controller/peer-index.js';

describe('PeerIndex', () => {
  it('finds the jobs naming a job, in its namespace only', () => {
    const idx = new PeerIndex();
    idx.set('a/j-1', ['j-2', 'j-3']);
    idx.set('a/j-4', ['j-2']);
    idx.set('b/j-5', ['j-2']);
    expect(idx.naming('a', 'j-2').sort()).toEqual(['a/j-1', 'a/j-4']);
    expect(idx.naming('b', 'j-2')).toEqual(['b/j-5']);
    expect(idx.namedByJob('a/j-1')).toEqual(['j-2', 'j-3']);
  });

  it('a job that changes or drops its peers is no longer found naming the old ones', () => {
    const idx = new PeerIndex();
    idx.set('a/j-1', ['j-2', 'j-3']);
    idx.set('a/j-1', ['j-3']);
    expect(idx.naming('a', 'j-2')).toEqual([]);
    expect(idx.naming('a', 'j-3')).toEqual(['a/j-1']);
    idx.set('a/j-1', []);
    expect(idx.naming('a', 'j-3')).toEqual([]);
    expect(idx.namedByJob('a/j-1')).toEqual([]);
  });
});
