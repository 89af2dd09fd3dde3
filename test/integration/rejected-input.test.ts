// Bad creates are refused with 400 {"why","errorCode"} and write nothing, not even for
// the good items of the same bulk call (all-or-nothing): a file path that escapes the storage
// root, a peer job this provider does not run.
import { startStack, type TestStack } from '../support/harness.js';
import { batchJob, multiRankJob } from '../support/job-factory.js';
import { createJobs } from '../support/jobs.js';

const T = 120_000;

describe('rejected creates', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ jobs: { sharedStorage: { claimName: 'shared-files' } } });
  }, T);
  afterAll(async () => {
    await stack?.stop();
  }, T);

  /** Nothing of any kind in the namespace: no UCloudJob, and so no pods, ConfigMaps, Services, policies. */
  async function nothingWritten(): Promise<void> {
    const { ns } = stack;
    // The reconciler would need a UCloudJob to write anything else; check both anyway.
    expect((await ns.kube.ucloudJobs.list(ns.name)).items).toEqual([]);
    expect((await ns.kube.pods.list(ns.name)).items).toEqual([]);
    expect((await ns.kube.configMaps.list(ns.name, 'app.kubernetes.io/managed-by=ucloud-operator')).items).toEqual([]);
    expect((await ns.kube.networkPolicies.list(ns.name)).items).toEqual([]);
    expect(stack.core.updates).toEqual([]);
  }

  const escapes = ['/p-4242/Datasets/../../etc', '/p-4242/..', '/../home', '/p-4242/%2e%2e/secrets', 'relative/path', '/p-4242//x'];
  it.each(escapes)(
    'a file path that escapes the storage root (%s): 400 INVALID_PATH, nothing written',
    async (path) => {
      const job = multiRankJob() as { specification: { resources: Array<{ type: string; path: string; readOnly: boolean }> } };
      job.specification.resources = [{ type: 'file', path, readOnly: false }];
      const res = await createJobs(stack, job);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ why: expect.stringMatching(/^items\[0\]\.specification\.resources\[0\]: invalid path/), errorCode: 'INVALID_PATH' });
      await nothingWritten();
    },
    T,
  );

  it(
    'a path escape in the second item of a bulk create rejects the first too',
    async () => {
      const bad = batchJob('9002', { resources: [{ type: 'file', path: '/p-1/../../root', readOnly: true }] });
      const res = await createJobs(stack, batchJob('9001'), bad);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ why: expect.stringMatching(/^items\[1\]\.specification\.resources\[0\]: invalid path/), errorCode: 'INVALID_PATH' });
      await nothingWritten();
    },
    T,
  );

  it(
    'a peer job this provider does not run: 400 UNKNOWN_PEER, nothing written',
    async () => {
      const job = batchJob('9003', { resources: [{ type: 'peer', hostname: 'db', jobId: '424242' }] });
      const res = await createJobs(stack, batchJob('9004'), job);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        why: 'items[1].specification.resources[0]: unknown peer job 424242: it does not run on this provider or has ended',
        errorCode: 'UNKNOWN_PEER',
      });
      await nothingWritten();
    },
    T,
  );
});
