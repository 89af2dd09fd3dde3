import { jobResourceName } from '../../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { captureLogs } from '../../support/logs.js';
import { jobsPath, makeKeys, NS, simpleJob, startAdapter, storedJob, type Harness, type Keys } from './support.js';

let keys: Keys;
let h: Harness;
beforeAll(async () => {
  keys = await makeKeys();
});
beforeEach(async () => {
  h = await startAdapter(keys);
  const res = await h.call('POST', jobsPath(), { items: ['run-1', 'run-2'].map((id) => simpleJob(id)) });
  expect(res.status).toBe(200);
  h.kube.clearCalls();
});
afterEach(() => h.close());

const HOUR = 3_600_000;
const extendItem = (id: string, hours: number, minutes = 0) => ({ job: simpleJob(id), requestedTime: { hours, minutes, seconds: 0 } });
const setState = (id: string, state: 'SUCCESS' | 'FAILURE' | 'EXPIRED' | 'RUNNING') => h.kube.ucloudJobs.mergePatchStatus(NS, jobResourceName(id), { state });

describe('terminate', () => {
  it('sets terminationRequestedAt once, and answers one {} per item', async () => {
    const res = await h.call('POST', jobsPath('terminate'), { items: [simpleJob('run-1')] });
    expect(res).toMatchObject({ status: 200, body: { responses: [{}] } });
    expect((await storedJob(h.kube, 'run-1'))!.spec.terminationRequestedAt).toBe('2030-01-02T03:04:05.000Z');
    expect((await storedJob(h.kube, 'run-2'))!.spec.terminationRequestedAt).toBeUndefined();

    const rv = (await storedJob(h.kube, 'run-1'))!.metadata.resourceVersion;
    expect((await h.call('POST', jobsPath('terminate'), { items: [{ id: 'run-1' }] })).status).toBe(200);
    expect((await storedJob(h.kube, 'run-1'))!.metadata.resourceVersion).toBe(rv);
  });

  it('is fine for a job this cluster does not have, and writes nothing', async () => {
    const res = await h.call('POST', jobsPath('terminate'), { items: [{ id: 'never-seen' }, simpleJob('run-2')] });
    expect(res).toMatchObject({ status: 200, body: { responses: [{}, {}] } });
    expect(h.kube.writes().map((c) => c.name)).toEqual([jobResourceName('run-2')]);
  });

  it('leaves a job that has ended alone', async () => {
    await setState('run-1', 'SUCCESS');
    h.kube.clearCalls();
    expect((await h.call('POST', jobsPath('terminate'), { items: [{ id: 'run-1' }] })).status).toBe(200);
    expect(h.kube.writes()).toEqual([]);
  });

  it('retries on a conflicting write with a fresh read, keeping the other writer’s change', async () => {
    const original = h.kube.ucloudJobs.replace.bind(h.kube.ucloudJobs);
    let raced = false;
    h.kube.ucloudJobs.replace = async (job: UCloudJob) => {
      if (!raced) {
        raced = true;
        // Someone else writes between our read and our write.
        await h.kube.ucloudJobs.mergePatchMetadata(NS, job.metadata.name, { labels: { touched: 'yes' } });
      }
      return original(job);
    };
    expect((await h.call('POST', jobsPath('terminate'), { items: [{ id: 'run-1' }] })).status).toBe(200);
    const stored = (await storedJob(h.kube, 'run-1'))!;
    expect(stored.spec.terminationRequestedAt).toBeDefined();
    expect(stored.metadata.labels!.touched).toBe('yes');
    expect(h.kube.calls.filter((c) => c.op === 'replace')).toHaveLength(2);
  });

  it('answers 409 when conflicts do not stop', async () => {
    h.kube.failNext('UCloudJob.replace', new KubeError(409, 'Conflict', 'modified'), 10);
    const res = await h.call('POST', jobsPath('terminate'), { items: [{ id: 'run-1' }] });
    expect(res).toMatchObject({ status: 409, body: { errorCode: 'CONFLICT' } });
  });

  it('validates only the id of the job (a job must stay terminable)', async () => {
    const odd = { ...simpleJob('run-1'), specification: { parameters: { x: { type: 'something_new' } } } };
    expect((await h.call('POST', jobsPath('terminate'), { items: [odd] })).status).toBe(200);
    expect(await h.call('POST', jobsPath('terminate'), { items: [{ id: '' }] })).toMatchObject({
      status: 400,
      body: { why: 'items[0].id: Too small: expected string to have >=1 characters', errorCode: 'INVALID_REQUEST' },
    });
  });
});

describe('extend', () => {
  it('adds the requested time', async () => {
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('run-1', 2, 30)] });
    expect(res).toMatchObject({ status: 200, body: { responses: [{}] } });
    expect((await storedJob(h.kube, 'run-1'))!.spec.timeAllocationMillis).toBe(HOUR + 2.5 * HOUR);
  });

  it('adds every extension of the same job in one call', async () => {
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('run-1', 1), extendItem('run-2', 1), extendItem('run-1', 2)] });
    expect(res.body).toEqual({ responses: [{}, {}, {}] });
    expect((await storedJob(h.kube, 'run-1'))!.spec.timeAllocationMillis).toBe(4 * HOUR);
    expect((await storedJob(h.kube, 'run-2'))!.spec.timeAllocationMillis).toBe(2 * HOUR);
  });

  it('404 for an unknown job, writing nothing for the other items', async () => {
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('run-1', 1), extendItem('ghost', 1)] });
    expect(res).toMatchObject({ status: 404, body: { why: 'items[1].job: unknown job ghost', errorCode: 'UNKNOWN_JOB' } });
    expect(h.kube.writes()).toEqual([]);
  });

  it.each(['SUCCESS', 'FAILURE', 'EXPIRED'] as const)('400 for a job that ended in %s', async (state) => {
    await setState('run-2', state);
    h.kube.clearCalls();
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('run-2', 1)] });
    expect(res).toMatchObject({ status: 400, body: { errorCode: 'JOB_NOT_RUNNING' } });
    expect(h.kube.writes()).toEqual([]);
  });

  it('re-checks a job that ends between the check and the write', async () => {
    const original = h.kube.ucloudJobs.replace.bind(h.kube.ucloudJobs);
    let raced = false;
    h.kube.ucloudJobs.replace = async (job: UCloudJob) => {
      if (!raced) {
        raced = true;
        await setState('run-1', 'EXPIRED');
      }
      return original(job);
    };
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('run-1', 1)] });
    expect(res).toMatchObject({ status: 400, body: { errorCode: 'JOB_NOT_RUNNING' } });
    expect((await storedJob(h.kube, 'run-1'))!.spec.timeAllocationMillis).toBe(HOUR);
  });

  it('400 for a job being terminated', async () => {
    await h.call('POST', jobsPath('terminate'), { items: [{ id: 'run-1' }] });
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('run-1', 1)] });
    expect(res).toMatchObject({ status: 400, body: { errorCode: 'JOB_NOT_RUNNING' } });
  });

  it('400 for a job without a time allocation', async () => {
    await h.call('POST', jobsPath(), { items: [simpleJob('unlimited', (j) => (j.specification.timeAllocation = null))] });
    const res = await h.call('POST', jobsPath('extend'), { items: [extendItem('unlimited', 1)] });
    expect(res).toMatchObject({ status: 400, body: { errorCode: 'NO_TIME_ALLOCATION' } });
  });

  it('400 for a malformed requestedTime', async () => {
    const res = await h.call('POST', jobsPath('extend'), { items: [{ job: { id: 'run-1' }, requestedTime: { hours: -1, minutes: 0, seconds: 0 } }] });
    expect(res).toMatchObject({ status: 400, body: { errorCode: 'INVALID_REQUEST' } });
    expect(res.body.why).toMatch(/^items\[0\]\.requestedTime\.hours: /);
    expect(h.kube.writes()).toEqual([]);
  });
});

describe('verify', () => {
  it('reports the jobs it does not have, writes nothing, answers {}', async () => {
    const res = await h.call('POST', jobsPath('verify'), { items: [simpleJob('run-1'), { id: 'lost-1' }, { id: 'lost-2' }, { id: 'lost-1' }] });
    expect(res).toMatchObject({ status: 200, body: {} });
    expect(h.unknownJobs).toEqual([['lost-1', 'lost-2']]);
    expect(h.kube.writes()).toEqual([]);
    expect(h.kube.all('UCloudJob')).toHaveLength(2);
  });

  it('answers a generic 500 when reporting fails, logging the detail', async () => {
    const lines = await captureLogs(async () => {
      const failing = await startAdapter(keys, {
        deps: {
          onUnknownJobs: () => {
            throw new TypeError('reporter exploded at 0xdeadbeef');
          },
        },
      });
      try {
        const res = await failing.call('POST', jobsPath('verify'), { items: [{ id: 'lost' }] });
        expect(res).toMatchObject({ status: 500, body: { why: 'internal error', errorCode: 'INTERNAL_ERROR' } });
      } finally {
        await failing.close();
      }
    });
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'Provider call failed');
    expect(logged).toMatchObject({ status: 500, err: { name: 'TypeError', message: 'reporter exploded at 0xdeadbeef' } });
    expect(logged.stack).toContain('TypeError');
  });

  it('reports nothing when every job is known', async () => {
    await h.call('POST', jobsPath('verify'), { items: [{ id: 'run-1' }, { id: 'run-2' }] });
    expect(h.unknownJobs).toEqual([]);
  });
});
