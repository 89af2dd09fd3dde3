// The caches keep one copy of the strings their objects repeat. String identity cannot be observed
// from JavaScript, so these check what can be: which strings enter the pool, that per-object values
// never do, and that a shared copy is the same data (Dates and nested shapes kept).
import { share, sharedStringCount, shareStrings } from '../../../src/k8s/shared-strings.js';
import { trimJob, specElided } from '../../../src/controller/job-trim.js';
import { job } from '../../support/job-factory.js';

describe('shared strings', () => {
  it('pools a repeated value once, and never a per-object one (name, uid, timestamps, the job label)', () => {
    const before = sharedStringCount();
    const a = JSON.parse(
      '{"metadata":{"name":"j-1","uid":"u-1","namespace":"ns-shared-test","labels":{"ucloud.dk/job":"j-1","app.kubernetes.io/managed-by":"op-shared-test"}},"status":{"at":"2026-01-01T00:00:00Z"}}',
    );
    const b = JSON.parse(
      '{"metadata":{"name":"j-2","uid":"u-2","namespace":"ns-shared-test","labels":{"ucloud.dk/job":"j-2","app.kubernetes.io/managed-by":"op-shared-test"}},"status":{"at":"2026-01-01T00:00:01Z"}}',
    );
    expect(shareStrings(a)).toEqual(a);
    expect(shareStrings(b)).toEqual(b);
    // The namespace and the managed-by value: two entries, whatever the two objects held per object.
    expect(sharedStringCount() - before).toBe(2);
  });

  it('keeps Dates and other class instances as they are', () => {
    const at = new Date(0);
    const out = shareStrings({ metadata: { creationTimestamp: at }, list: [{ x: 'y' }] });
    expect(out.metadata.creationTimestamp).toBe(at);
    expect(out.list).toEqual([{ x: 'y' }]);
  });

  it('leaves long strings out of the pool', () => {
    const before = sharedStringCount();
    expect(share('x'.repeat(500))).toBe('x'.repeat(500));
    expect(sharedStringCount()).toBe(before);
  });

  it('a trimmed job is the stored job without managedFields, and the elided mark survives the copy', () => {
    const raw = { ...job({ jobId: '7' }, 'uid-7'), metadata: { ...job({ jobId: '7' }, 'uid-7').metadata, managedFields: [{ manager: 'x' }] } };
    const { managedFields: _m, ...metadata } = raw.metadata;
    expect(trimJob(raw)).toEqual({ ...raw, metadata });
    const heavy = { ...raw, spec: { ...raw.spec, jobParameters: '{"big":true}' } };
    expect(specElided(trimJob(heavy))).toBe(true);
    expect(specElided(trimJob(raw))).toBe(false);
  });
});
