import { sessionSecretName, SessionStore } from '../../../../src/adapter/sessions/store.js';
import { job as ucloudJob } from '../../../support/job-factory.js';
import { MemorySecrets } from '../memory-secrets.js';

const job = ucloudJob({ jobId: '5', replicas: 2, owner: { createdBy: 'alice', project: 'p1' } }, 'uid-5', 'ns');

describe('SessionStore', () => {
  let now = new Date('2030-01-01T00:00:00Z');
  const clock = () => now;

  it('stores a session as a Secret owned by the job, keyed by a hash of the identifier', async () => {
    const secrets = new MemorySecrets();
    const store = new SessionStore(secrets, 'ns', 600, clock);
    const { identifier, record } = await store.open(job, 'SHELL', 1);
    expect(identifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(record).toEqual({
      type: 'SHELL',
      jobId: '5',
      rank: 1,
      owner: { createdBy: 'alice', project: 'p1' },
      createdAt: '2030-01-01T00:00:00.000Z',
      expiresAt: '2030-01-01T00:10:00.000Z',
    });
    const stored = await secrets.get('ns', sessionSecretName(identifier));
    expect(stored?.metadata?.ownerReferences).toEqual([{ apiVersion: 'ucloud.dk/v1alpha1', kind: 'UCloudJob', name: 'j-5', uid: 'uid-5' }]);
    expect(JSON.stringify(stored)).not.toContain(identifier);
    expect(await store.lookup(identifier)).toEqual(record);
  });

  it('two sessions never share an identifier', async () => {
    const store = new SessionStore(new MemorySecrets(), 'ns', 600, clock);
    const a = await store.open(job, 'SHELL', 0);
    const b = await store.open(job, 'SHELL', 0);
    expect(a.identifier).not.toBe(b.identifier);
  });

  it('an expired session is unknown, and its Secret is deleted', async () => {
    const secrets = new MemorySecrets();
    const store = new SessionStore(secrets, 'ns', 600, clock);
    const { identifier } = await store.open(job, 'SHELL', 0);
    now = new Date('2030-01-01T00:09:59Z');
    expect(await store.lookup(identifier)).toBeDefined();
    now = new Date('2030-01-01T00:10:00Z');
    expect(await store.lookup(identifier)).toBeUndefined();
    expect(secrets.objects.size).toBe(0);
    now = new Date('2030-01-01T00:00:00Z');
  });

  it('identifiers that are not ours are unknown without a lookup', async () => {
    const secrets = new MemorySecrets();
    const store = new SessionStore(secrets, 'ns', 600, clock);
    let gets = 0;
    secrets.get = async () => (gets++, undefined);
    for (const bad of ['', 'short', '../../etc', 'A'.repeat(44)]) expect(await store.lookup(bad)).toBeUndefined();
    expect(gets).toBe(0);
  });
});
