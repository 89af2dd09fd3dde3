import { childLabels, childMetadata, jobIdentity, ownerReference } from '../../../src/controller/desired/owner.js';
import { job, NS } from '../../support/job-factory.js';

describe('children of a UCloudJob', () => {
  it('carry the job labels', () => {
    expect(childLabels(job())).toEqual({
      'ucloud.dk/job': 'j-54112',
      'ucloud.dk/job-id': '54112',
      'app.kubernetes.io/managed-by': 'ucloud-operator',
    });
  });

  it('hash a job id that is not a label value', () => {
    expect(childLabels(job({ jobId: 'a/b' }))['ucloud.dk/job-id']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('are controlled by the job', () => {
    expect(ownerReference(job())).toEqual({
      apiVersion: 'ucloud.dk/v1alpha1',
      kind: 'UCloudJob',
      name: 'j-54112',
      uid: 'uid-1',
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it('keep the operator labels over site labels', () => {
    const meta = childMetadata(job(), 'x', { 'ucloud.dk/job': 'someone-else', site: 'a' }, { extra: 'b' });
    expect(meta).toEqual({
      name: 'x',
      namespace: NS,
      labels: {
        site: 'a',
        'ucloud.dk/job': 'j-54112',
        'ucloud.dk/job-id': '54112',
        'app.kubernetes.io/managed-by': 'ucloud-operator',
        extra: 'b',
      },
      ownerReferences: [ownerReference(job())],
    });
  });

  it.each([
    ['a uid', { uid: undefined }, /no uid/],
    ['a namespace', { namespace: undefined }, /no namespace/],
  ])('refuse a job without %s', (_what, meta, error) => {
    const j = job();
    expect(() => jobIdentity({ ...j, metadata: { ...j.metadata, ...meta } })).toThrow(error);
  });
});
