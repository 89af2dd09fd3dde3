import type { V1Node } from '@kubernetes/client-node';
import { jobResourceName } from '../../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { jobToResource } from '../../../src/translate/job-to-spec.js';
import type { Job } from '../../../src/ucloud/job.js';
import { FakeKube } from '../../support/fake-kube.js';
import { testNode } from '../../support/nodes.js';
import { fixtureJson, SIMPLE_BATCH as SIMPLE } from '../../support/fixtures.js';
import { counter, jobsPath, makeKeys, NS, simpleJob, startAdapter, storedJob, type Harness, type Keys } from './support.js';

let keys: Keys;
let h: Harness;
beforeAll(async () => {
  keys = await makeKeys();
});
beforeEach(async () => {
  h = await startAdapter(keys);
});
afterEach(() => h.close());

const create = (items: unknown[]) => h.call('POST', jobsPath(), { items });
const withPeer = (id: string, peerId: string, as: 'parameter' | 'resource' = 'resource') =>
  simpleJob(id, (j) => {
    const peer = { type: 'peer' as const, hostname: 'server', jobId: peerId };
    if (as === 'resource') j.specification.resources = [peer];
    else j.specification.parameters = { ...j.specification.parameters, server: peer };
  });

describe('create', () => {
  it('creates exactly one UCloudJob from the spec example and answers [null]', async () => {
    const res = await h.call('POST', jobsPath(), fixtureJson(SIMPLE));
    expect(res).toMatchObject({ status: 200, body: { responses: [null] } });
    const all = h.kube.all<UCloudJob>('UCloudJob');
    expect(all).toHaveLength(1);
    const expected = jobToResource(simpleJob(), h.config);
    expect(all[0]!.metadata).toMatchObject({ name: 'j-54112', namespace: NS, labels: expected.metadata.labels, annotations: expected.metadata.annotations });
    expect(all[0]!.spec).toEqual(expected.spec);
    expect(all[0]!.spec).toMatchObject({ jobId: '54112', image: 'acme/batch:1.0.0', timeAllocationMillis: 3_600_000 });
  });

  it('is idempotent: the same request twice is still one job', async () => {
    expect((await h.call('POST', jobsPath(), fixtureJson(SIMPLE))).body).toEqual({ responses: [null] });
    const first = await storedJob(h.kube, '54112');
    expect((await h.call('POST', jobsPath(), fixtureJson(SIMPLE))).body).toEqual({ responses: [null] });
    expect(h.kube.all('UCloudJob')).toHaveLength(1);
    expect((await storedJob(h.kube, '54112'))!.metadata.uid).toBe(first!.metadata.uid);
  });

  it('creates every item of a bulk', async () => {
    const res = await create(['b-1', 'b-2', 'b-3'].map((id) => simpleJob(id)));
    expect(res.body).toEqual({ responses: [null, null, null] });
    expect(
      h.kube
        .all<UCloudJob>('UCloudJob')
        .map((j) => j.spec.jobId)
        .sort(),
    ).toEqual(['b-1', 'b-2', 'b-3']);
  });

  it('rejects the whole bulk when one item fails validation, naming it, and writes nothing', async () => {
    const bad = simpleJob('v-2', (j) => (j.specification.replicas = 0));
    const res = await create([simpleJob('v-1'), bad, simpleJob('v-3')]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ why: 'items[1].specification.replicas: Too small: expected number to be >=1', errorCode: 'INVALID_REQUEST' });
    expect(h.kube.writes()).toEqual([]);
    expect(h.kube.calls.filter((c) => c.op === 'create')).toEqual([]);
  });

  it('rejects the whole bulk when one item cannot be translated, naming its field', async () => {
    const bad = simpleJob('t-3', (j) => (j.specification.product = { id: 'huge', category: 'example-compute', provider: 'example' }));
    const res = await create([simpleJob('t-1'), simpleJob('t-2'), bad]);
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('UNKNOWN_PRODUCT');
    expect(res.body.why).toMatch(/^items\[2\]\.specification\.product: unknown product huge/);
    expect(h.kube.writes()).toEqual([]);
  });

  it.each([
    [0, 'items: a bulk request needs at least one item'],
    [1001, 'items: a bulk request takes at most 1000 items'],
  ])('rejects a bulk of %i items', async (n, why) => {
    const job = simpleJob('n-1');
    const res = await create(Array.from({ length: n }, () => job));
    expect(res).toMatchObject({ status: 400, body: { why, errorCode: 'INVALID_REQUEST' } });
    expect(h.kube.writes()).toEqual([]);
  });

  it('rejects malformed JSON, a non-object body and a missing body', async () => {
    expect(await h.call('POST', jobsPath(), undefined, { raw: '{"items": [' })).toMatchObject({
      status: 400,
      body: { why: 'the request body is not valid JSON', errorCode: 'INVALID_JSON' },
    });
    expect((await h.call('POST', jobsPath(), undefined, { raw: '"items"' })).body.errorCode).toBe('INVALID_JSON');
    expect(await h.call('POST', jobsPath())).toMatchObject({ status: 400, body: { errorCode: 'INVALID_REQUEST' } });
    expect(h.kube.writes()).toEqual([]);
  });

  it('reads JSON whatever the content type says (UCloud documents a malformed one)', async () => {
    const res = await h.call('POST', jobsPath(), fixtureJson(SIMPLE), { headers: { 'content-type': 'content-type: application/json; charset=utf-8' } });
    expect(res.status).toBe(200);
  });

  it('answers 413 for a body over the limit', async () => {
    const small = await startAdapter(keys, { config: { ...h.config, http: { ...h.config.http, bodyLimitBytes: 1024 } } });
    try {
      const res = await small.call('POST', jobsPath(), fixtureJson(SIMPLE));
      expect(res).toMatchObject({ status: 413, body: { errorCode: 'BODY_TOO_LARGE' } });
    } finally {
      await small.close();
    }
  });

  it('refuses restartOnExit', async () => {
    const res = await create([simpleJob('r-1'), simpleJob('r-2', (j) => (j.specification.restartOnExit = true))]);
    expect(res).toMatchObject({
      status: 400,
      body: { why: 'items[1].specification.restartOnExit: this provider never restarts container jobs', errorCode: 'RESTART_NOT_SUPPORTED' },
    });
    expect(h.kube.writes()).toEqual([]);
  });

  describe('peers', () => {
    it('refuses a peer that does not exist, naming where it is used, and writes nothing', async () => {
      const res = await create([simpleJob('p-1'), withPeer('p-2', 'ghost', 'parameter')]);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        why: 'items[1].specification.parameters.server: unknown peer job ghost: it does not run on this provider or has ended',
        errorCode: 'UNKNOWN_PEER',
      });
      expect(h.kube.writes()).toEqual([]);
    });

    it('refuses a peer that has ended', async () => {
      await create([simpleJob('done')]);
      await h.kube.ucloudJobs.mergePatchStatus(NS, jobResourceName('done'), { state: 'SUCCESS' });
      h.kube.clearCalls();
      const res = await create([withPeer('p-3', 'done')]);
      expect(res).toMatchObject({ status: 400, body: { errorCode: 'UNKNOWN_PEER' } });
      expect(res.body.why).toMatch(/^items\[0\]\.specification\.resources\[0\]: unknown peer job done/);
      expect(h.kube.writes()).toEqual([]);
    });

    it("refuses a peer hostname the jobs' own Services would shadow (j-...), writing nothing", async () => {
      await create([simpleJob('server-3')]);
      h.kube.clearCalls();
      const job = simpleJob('client-3', (j) => {
        j.specification.resources = [{ type: 'peer', hostname: 'j-server-3', jobId: 'server-3' }];
      });
      const res = await create([job]);
      expect(res).toMatchObject({ status: 400, body: { errorCode: 'INVALID_PEER_HOSTNAME' } });
      expect(res.body.why).toMatch(/^items\[0\]\.specification\.resources\[0\]: peer hostname j-server-3 is reserved/);
      expect(h.kube.writes()).toEqual([]);
    });

    it('accepts a running peer, and one created in the same call', async () => {
      await create([simpleJob('server-1')]);
      expect((await create([withPeer('client-1', 'server-1')])).status).toBe(200);
      expect((await create([simpleJob('server-2'), withPeer('client-2', 'server-2')])).status).toBe(200);
      expect((await storedJob(h.kube, 'client-1'))!.spec.peers).toEqual([{ hostname: 'server', jobId: 'server-1' }]);
    });
  });

  describe('failures while writing', () => {
    it('answers 502 when the cluster is unavailable, and deletes what the call created', async () => {
      const jobs = ['f-1', 'f-2', 'f-3'].map((id) => simpleJob(id));
      const kube = new FakeKube();
      const flaky = await startAdapter(keys, { kube });
      try {
        // Let the first create through, then fail the second.
        const original = kube.ucloudJobs.create.bind(kube.ucloudJobs);
        let n = 0;
        kube.ucloudJobs.create = async (job) => {
          if (++n === 2) throw new KubeError(503, 'ServiceUnavailable', 'etcd leader changed');
          return original(job);
        };
        const res = await flaky.call('POST', jobsPath(), { items: jobs });
        expect(res).toMatchObject({ status: 502, body: { why: 'the cluster is not available right now', errorCode: 'CLUSTER_UNAVAILABLE' } });
        expect(JSON.stringify(res.body)).not.toContain('etcd');
        expect(kube.all('UCloudJob')).toEqual([]);
      } finally {
        await flaky.close();
      }
    });

    it('does not delete a job an earlier call created', async () => {
      await create([simpleJob('keep')]);
      h.kube.failNext('UCloudJob.create', new KubeError(0, 'NetworkError', 'connection reset'));
      const res = await create([simpleJob('keep'), simpleJob('new')]);
      expect(res.status).toBe(502);
      expect(await storedJob(h.kube, 'keep')).toBeDefined();
      expect(await storedJob(h.kube, 'new')).toBeUndefined();
    });

    it('refuses to adopt another job that holds the same name', async () => {
      const longA = 'a'.repeat(100);
      const squatter = jobToResource(simpleJob('someone-else'), h.config);
      squatter.metadata.name = jobResourceName(longA);
      h.kube.seed('UCloudJob', squatter);
      const res = await create([simpleJob(longA)]);
      expect(res).toMatchObject({ status: 409, body: { errorCode: 'JOB_NAME_COLLISION' } });
      expect((await h.kube.ucloudJobs.get(NS, jobResourceName(longA)))!.spec.jobId).toBe('someone-else');
    });

    it('answers 500 with a generic why for an unexpected error', async () => {
      h.kube.failNext('UCloudJob.create', new KubeError(422, 'Invalid', 'spec.command: Invalid value: secret detail'));
      const res = await create([simpleJob('x-1')]);
      expect(res).toMatchObject({ status: 500, body: { why: 'internal error', errorCode: 'INTERNAL_ERROR' } });
    });
  });
});

// Keeps the helper honest about what it builds.
test('withPeer puts the peer where asked', () => {
  const j: Job = withPeer('a', 'b', 'parameter');
  expect(j.specification.parameters!.server).toEqual({ type: 'peer', hostname: 'server', jobId: 'b' });
});

describe('create of a job the cluster can never hold', () => {
  const small = testNode('small', { category: 'example-compute', cpu: '1', memory: '4Gi' });
  const ranks = (id: string, n: number) =>
    simpleJob(id, (j) => {
      j.specification.replicas = n;
      j.status!.resolvedApplication!.invocation.allowMultiNode = true;
    });
  const withNodes = async (nodes: V1Node[] | undefined) => {
    const kube = h.kube;
    await h.close();
    h = await startAdapter(keys, { kube, deps: { capacity: { queueStatuses: async () => undefined, knownNodes: async () => nodes } } });
  };

  it('is refused with a 400, a why naming the product and the nodes, and nothing written', async () => {
    await withNodes([small]);
    const res = await create([simpleJob('nf-1')]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      errorCode: 'PRODUCT_NEVER_FITS',
      why: 'items[0].specification.product: product example-compute-1 can never run here: one rank needs 0.937 CPU, 2 GB memory, more than any of the 1 node of category example-compute has (after the 500m CPU a node keeps for itself)',
    });
    expect(h.kube.all('UCloudJob')).toEqual([]);
    expect(await counter(h.metrics, 'ucloud_operator_adapter_rejected_total', { reason: 'product_never_fits' })).toBe(1);
  });

  it('is refused when its ranks need more nodes at once than there are, accepted when they fit', async () => {
    await withNodes([testNode('a', { category: 'example-compute', cpu: '1' }), testNode('b', { category: 'example-compute', cpu: '2' })]);
    const three = await create([ranks('nf-3', 3)]);
    expect(three.body).toMatchObject({
      errorCode: 'PRODUCT_NEVER_FITS',
      why: expect.stringMatching(/can never run 3 ranks at once here: the 2 nodes .* hold at most 1/),
    });
    const one = await create([simpleJob('nf-4')]);
    expect(one.status).toBe(200);
  });

  it('is accepted while the nodes are not known yet (start-up, or no permission to list them)', async () => {
    await withNodes(undefined);
    expect((await create([ranks('nf-5', 50)])).status).toBe(200);
  });

  it('is accepted as a repeated create of a job already stored (Core would delete a job that runs here)', async () => {
    await withNodes(undefined);
    expect((await create([simpleJob('nf-6')])).status).toBe(200);
    await withNodes([small]);
    expect((await create([simpleJob('nf-6')])).status).toBe(200);
  });
});
