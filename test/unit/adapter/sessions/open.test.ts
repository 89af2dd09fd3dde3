import { SessionStore } from '../../../../src/adapter/sessions/store.js';
import type { UCloudJob } from '../../../../src/api/v1alpha1/ucloudjob.js';
import { FakeKube } from '../../../support/fake-kube.js';
import { job as ucloudJob } from '../../../support/job-factory.js';
import { MemorySecrets } from '../memory-secrets.js';
import { jobsPath, makeKeys, NS, startAdapter, type Harness, type Keys } from '../support.js';

const job = (id: string, replicas: number, extra: Partial<UCloudJob> = {}): UCloudJob => ({
  ...ucloudJob({ jobId: id, replicas, owner: { createdBy: 'alice', project: 'p1' } }, `uid-${id}`, NS),
  ...extra,
});

describe('interactiveSession with a session store', () => {
  let keys: Keys;
  let h: Harness;
  let secrets: MemorySecrets;
  beforeAll(async () => {
    keys = await makeKeys();
  });
  beforeEach(async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', job('1', 3));
    kube.seed('UCloudJob', job('2', 1, { status: { state: 'FAILURE' } }));
    kube.seed('UCloudJob', { ...job('3', 1), spec: { ...job('3', 1).spec, terminationRequestedAt: '2030-01-01T00:00:00Z' } });
    secrets = new MemorySecrets();
    h = await startAdapter(keys, { kube, deps: { interactive: { follow: true, sessions: new SessionStore(secrets, NS, 600) } } });
  });
  afterEach(() => h.close());

  const open = (items: readonly unknown[], op = 'interactiveSession') => h.call('POST', jobsPath(op), { items });
  const shell = (id: string, rank: number, owner?: unknown) => ({
    job: { id, ...(owner === undefined ? {} : { owner }) },
    rank,
    sessionType: 'SHELL',
    target: null,
  });

  it.each(['interactiveSession', 'openInteractiveSession'])('%s opens one session per item, each rank its own', async (op) => {
    const res = await open([shell('1', 0, { createdBy: 'alice', project: 'p1' }), shell('1', 2)], op);
    expect(res.status).toBe(200);
    expect(res.body.responses).toEqual([
      { type: 'shell', jobId: '1', rank: 0, sessionIdentifier: expect.any(String), domainOverride: null },
      { type: 'shell', jobId: '1', rank: 2, sessionIdentifier: expect.any(String), domainOverride: null },
    ]);
    expect(secrets.objects.size).toBe(2);
  });

  it.each([
    ['rank past the last', [shell('1', 0), shell('1', 3)], 400, 'INVALID_RANK', 'items[1].rank: rank 3 is outside 0..2'],
    ['an ended job', [shell('1', 0), shell('2', 0)], 400, 'JOB_NOT_RUNNING', undefined],
    ['a job being terminated', [shell('3', 0)], 400, 'JOB_NOT_RUNNING', undefined],
    ['an unknown job', [shell('1', 0), shell('9', 0)], 404, 'UNKNOWN_JOB', undefined],
    ['another workspace', [shell('1', 0, { createdBy: 'alice', project: null })], 403, 'NOT_JOB_OWNER', undefined],
    ['another user', [shell('1', 0, { createdBy: 'bob', project: 'p1' })], 403, 'NOT_JOB_OWNER', undefined],
    ['a WEB item', [shell('1', 0), { ...shell('1', 0), sessionType: 'WEB' }], 400, 'SESSIONS_NOT_SUPPORTED', undefined],
  ] as Array<[string, unknown[], number, string, string | undefined]>)(
    'all or nothing, %s: the error names it and nothing is stored',
    async (_what, items, status, errorCode, why) => {
      const res = await open(items);
      expect(res).toMatchObject({ status, body: { errorCode, ...(why ? { why } : {}) } });
      expect(secrets.objects.size).toBe(0);
    },
  );
});
