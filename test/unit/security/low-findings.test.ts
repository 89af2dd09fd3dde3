// security: L9 peers only between jobs of one owner; L10 token age and audience as core2 issues
// them; L12 object names of different roles never collide for any job id Core can send.
import fc from 'fast-check';
import { configMapName, jobResourceName, networkPolicyName, podName, serviceName, sshObjectName } from '../../../src/api/v1alpha1/names.js';
import { interactivePolicyName, webObjectName } from '../../../src/adapter/sessions/web.js';
import { peerServiceName } from '../../../src/controller/desired/peer-aliases.js';
import type { Job } from '../../../src/ucloud/job.js';
import { coreToken, jobsPath, makeKeys, simpleJob, startAdapter, type Harness, type Keys } from '../adapter/support.js';

const withPeer = (id: string, peerId: string, owner: Job['owner']) =>
  simpleJob(id, (j) => {
    j.owner = owner;
    j.specification.resources = [{ type: 'peer', hostname: 'server', jobId: peerId }];
  });
const owned = (id: string, owner: Job['owner']) => simpleJob(id, (j) => void (j.owner = owner));

describe('security: L9/L10 over the adapter', () => {
  let keys: Keys;
  let h: Harness;
  beforeAll(async () => {
    keys = await makeKeys();
    h = await startAdapter(keys);
  });
  afterAll(() => h.close());

  it('L9: a peer of another owner is refused (403), of the same project or the same personal creator admitted', async () => {
    const alice = { createdBy: 'alice', project: null };
    const bob = { createdBy: 'bob', project: null };
    const p1 = { createdBy: 'carol', project: 'p1' };
    expect((await h.call('POST', jobsPath(), { items: [owned('901', alice), owned('902', p1)] })).status).toBe(200);
    const before = h.kube.writes().length;
    const foreign = await h.call('POST', jobsPath(), { items: [withPeer('903', '901', bob)] });
    expect(foreign).toMatchObject({ status: 403, body: { errorCode: 'FOREIGN_PEER' } });
    // Another member of the project may not peer a personal job either, nor a personal job a project's.
    expect((await h.call('POST', jobsPath(), { items: [withPeer('904', '901', { createdBy: 'alice', project: 'p1' })] })).status).toBe(403);
    expect((await h.call('POST', jobsPath(), { items: [withPeer('905', '902', alice)] })).status).toBe(403);
    // In the same call too.
    expect((await h.call('POST', jobsPath(), { items: [owned('906', bob), withPeer('907', '906', alice)] })).status).toBe(403);
    expect(h.kube.writes().length).toBe(before);
    expect((await h.call('POST', jobsPath(), { items: [withPeer('908', '901', alice)] })).status).toBe(200);
    expect((await h.call('POST', jobsPath(), { items: [withPeer('909', '902', { createdBy: 'dave', project: 'p1' })] })).status).toBe(200);
  });

  it('L10: a token older, or living longer, than core2 issues them is refused; so is another audience', async () => {
    const now = Math.floor(Date.now() / 1000);
    const call = (token: string) => h.call('GET', jobsPath('retrieveProducts'), undefined, { token });
    expect((await call(await coreToken(keys.privateKey))).status).toBe(200);
    // core2: exp = iat + 10 min (core2/pkg/foundation/auth_providers.go).
    expect((await call(await coreToken(keys.privateKey, { iat: now - 20 * 60, exp: now + 60 }))).status).toBe(401);
    expect((await call(await coreToken(keys.privateKey, { iat: now, exp: now + 3600 }))).status).toBe(401);
    expect((await call(await coreToken(keys.privateKey, { aud: ['some-other-service'] }))).status).toBe(401);
    expect((await call(await coreToken(keys.privateKey, { aud: undefined }))).status).toBe(200);
  });
});

describe('security: L12 child names never collide', () => {
  it('for any two job ids, no name of one job (any role) equals a name of the other', () => {
    const namesOf = (id: string) => {
      const job = jobResourceName(id);
      const byKind: Record<string, string[]> = {
        service: [serviceName(job), sshObjectName(job), peerServiceName(job), webObjectName(job, 'web', 0), webObjectName(job, 'vnc', 1)],
        networkPolicy: [networkPolicyName(job), sshObjectName(job), interactivePolicyName(job)],
        secret: [sshObjectName(job)],
        configMap: [configMapName(job)],
        pod: [podName(job, 0), podName(job, 12)],
        ucloudJob: [job],
        ingress: [webObjectName(job, 'web', 0), webObjectName(job, 'vnc', 1)],
      };
      return byKind;
    };
    const ids = fc.oneof(
      fc.nat().map(String),
      fc.constantFrom('5', '5-ssh', '5-etc', '5-policy', '5-0', '5-peers', '5-web-0', '5-interactive', 'ssh'),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        if (a === b) return;
        const na = namesOf(a);
        const nb = namesOf(b);
        for (const kind of Object.keys(na)) {
          // Services, policies and pods share name spaces with UCloudJobs' children of every role.
          const all = new Set([...na[kind]!, ...(kind === 'service' ? [na.ucloudJob![0]!] : [])]);
          for (const n of nb[kind]!) expect(all.has(n)).toBe(false);
        }
      }),
      { numRuns: 2000, seed: 13 },
    );
    expect(sshObjectName(jobResourceName('5'))).not.toBe(serviceName(jobResourceName('5-ssh')));
  });
});

describe('security: L13 finished jobs and their session Secrets do not stay for ever', () => {
  it('retains a finished UCloudJob (and the session Secrets it owns) 7 days by default', async () => {
    const { unitConfig } = await import('../../support/config.js');
    expect(unitConfig().jobs.retainFinishedSeconds).toBe(7 * 86_400);
  });
});
