// Keys are client-go's `namespace/name`, built and split in one place.
import { keyOf, objectKey, splitKey } from '../../../src/k8s/object-key.js';

describe('object keys', () => {
  it('a key built from an object splits back into its namespace and name', () => {
    const key = keyOf({ metadata: { namespace: 'jobs', name: 'j-42' } });
    expect(key).toBe('jobs/j-42');
    expect(key).toBe(objectKey('jobs', 'j-42'));
    expect(splitKey(key)).toEqual({ namespace: 'jobs', name: 'j-42' });
  });

  it('a cluster-scoped object has an empty namespace', () => {
    expect(keyOf({ metadata: { name: 'node-1' } })).toBe('/node-1');
    expect(splitKey('/node-1')).toEqual({ namespace: '', name: 'node-1' });
  });
});
