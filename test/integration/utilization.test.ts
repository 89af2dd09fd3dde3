// retrieveUtilization, retrieveProducts and retrieveManifest on the real control plane:
// jobs created through the provider API, scheduled by the real scheduler onto the kwok nodes of
// scripts/cluster/nodes.yaml, and the numbers checked against ones computed by hand from that file:
//   u1-standard: kwok-standard-{0,1,2}, each 64 cpu / 256Gi allocatable -> 192 cpu, 768Gi
//   u1-gpu:      kwok-gpu-0, 32 cpu / 128Gi (and 4 nvidia.com/gpu)       ->  32 cpu, 128Gi
// Pods of other namespaces (other test files on the same cluster) are not this provider's jobs
// and are not counted; the namespace of this test is fresh.
import { podName } from '../../src/api/v1alpha1/names.js';
import { startStack, TEST_PRODUCTS, type TestStack } from '../support/harness.js';
import { batchJob, type BatchJobOptions } from '../support/job-factory.js';
import { createJobs, crWhen, runningPods } from '../support/jobs.js';

const GiB = 2 ** 30;

const jobOn = (id: string, product: BatchJobOptions['product'], replicas = 1) => batchJob(id, { replicas, product });

describe('utilization, products and manifest', () => {
  let stack: TestStack;
  const get = (path: string) => stack.core.callProvider<any>(stack.operator.adapterUrl, 'GET', path);
  const utilization = (category: string) => get(`/ucloud/example/jobs/retrieveUtilization?categoryId=${encodeURIComponent(category)}`);
  // A product no u1-standard node can hold: its job stays IN_QUEUE (unschedulable) when accepted.
  const HUGE = { id: 'u1-standard-100', category: 'u1-standard', cpu: 100, memoryInGigs: 4, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' };

  beforeAll(async () => {
    // Create would refuse it (never-fits.ts): the check is off to see how such a job is counted.
    stack = await startStack({ products: [...TEST_PRODUCTS, HUGE], jobs: { sizing: { refuseWhatNeverFits: false } } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('counts allocatable of the category nodes, requests of running job pods, running and pending jobs', async () => {
    const standard = TEST_PRODUCTS.find((p) => p.id === 'u1-standard-1')!;
    const gpu = TEST_PRODUCTS.find((p) => p.id === 'u1-gpu-1')!;
    // Before any job: full capacity, nothing used.
    expect(await utilization('u1-standard')).toEqual({
      status: 200,
      body: { capacity: { cpu: 192, memory: 768 * GiB }, usedCapacity: { cpu: 0, memory: 0 }, queueStatus: { running: 0, pending: 0 } },
    });

    expect((await createJobs(stack, jobOn('8101', standard, 3), jobOn('8102', HUGE), jobOn('8103', gpu))).status).toBe(200);
    await runningPods(stack, '8101', 3);
    const [gpuPod] = await runningPods(stack, '8103', 1);
    // Products map to nodes: the GPU job went to the only u1-gpu node and asks for its GPU.
    expect(gpuPod!.spec?.nodeName).toBe('kwok-gpu-0');
    // and its share of the node's disk (jobs.ephemeralStorage, docs/security.md M5).
    // Sized as IM2 sizes it (ADR 0023): 32 GB, and 8 cores less ceil(500 m / 8) each.
    expect(gpuPod!.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '7496m', memory: '32G', 'nvidia.com/gpu': '1', 'ephemeral-storage': '20Gi' });
    await crWhen(stack, '8101', (j) => j.status?.state === 'RUNNING', 'job 8101 RUNNING');
    await crWhen(stack, '8103', (j) => j.status?.state === 'RUNNING', 'job 8103 RUNNING');
    await crWhen(stack, '8102', (j) => j.status?.state === 'IN_QUEUE', 'job 8102 IN_QUEUE');
    const pending = await stack.ns.kube.pods.get(stack.ns.name, podName('j-8102', 0));
    expect(pending?.spec?.nodeName).toBeFalsy();

    // 3 ranks x (995 m: the category's largest product has 100 cores, 4 GB) running; the
    // unschedulable 100-cpu job only queues.
    expect(await utilization('u1-standard')).toEqual({
      status: 200,
      body: { capacity: { cpu: 192, memory: 768 * GiB }, usedCapacity: { cpu: 2.985, memory: 12e9 }, queueStatus: { running: 1, pending: 1 } },
    });
    expect(await utilization('u1-gpu')).toEqual({
      status: 200,
      body: { capacity: { cpu: 32, memory: 128 * GiB }, usedCapacity: { cpu: 7.496, memory: 32e9 }, queueStatus: { running: 1, pending: 0 } },
    });
    // example-compute: two 64-cpu / 256Gi nodes, none of this namespace's jobs.
    expect((await utilization('example-compute')).body).toEqual({
      capacity: { cpu: 128, memory: 512 * GiB },
      usedCapacity: { cpu: 0, memory: 0 },
      queueStatus: { running: 0, pending: 0 },
    });
  }, 90_000);

  it('refuses an unknown category (404) and a missing one (400), with the error envelope', async () => {
    expect(await utilization('no-such-category')).toMatchObject({ status: 404, body: { errorCode: 'UNKNOWN_CATEGORY', why: expect.any(String) } });
    expect(await get('/ucloud/example/jobs/retrieveUtilization')).toMatchObject({
      status: 400,
      body: { errorCode: 'INVALID_REQUEST', why: expect.stringMatching(/^categoryId: /) },
    });
  });

  it('retrieveProducts claims exactly what is served (terminals are off by default); retrieveManifest answers core2', async () => {
    const products = await get('/ucloud/example/jobs/retrieveProducts');
    expect(products.status).toBe(200);
    expect(products.body.responses.map((r: { product: { id: string } }) => r.product.id)).toEqual([...TEST_PRODUCTS.map((p) => p.id), HUGE.id]);
    for (const r of products.body.responses) {
      expect(r.docker).toEqual({ enabled: true, web: false, vnc: false, logs: true, terminal: false, peers: true, timeExtension: true, utilization: true });
      // Every product says how busy it is (UCloud shows a product without a status as FULL).
      expect(['AVAILABLE', 'BUSY', 'FULL']).toContain(r.queueStatus);
    }
    // No u1-standard node has 100 cores: that product can never start.
    expect(products.body.responses.find((r: { product: { id: string } }) => r.product.id === HUGE.id).queueStatus).toBe('FULL');
    // ...and what is not claimed is refused with a clear 4xx.
    const shell = await stack.core.callProvider(stack.operator.adapterUrl, 'POST', '/ucloud/example/jobs/interactiveSession', {
      items: [{ job: { id: '8101' }, rank: 0, sessionType: 'SHELL', target: null }],
    });
    expect(shell).toMatchObject({ status: 400, body: { errorCode: 'SESSIONS_NOT_SUPPORTED' } });
    const ws = await import('../support/ws-frames.js');
    await expect(ws.FrameClient.connect(`${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/example/websocket`)).rejects.toMatchObject({ status: 404 });
    expect(await get('/ucloud/example/integration/retrieveManifest')).toEqual({ status: 200, body: { enabled: false, expireAfterMs: null } });
  });
});
