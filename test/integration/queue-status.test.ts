// retrieveProducts' queueStatus on the real control plane (ADR 0023): two kwok
// nodes of their own category, each with room for exactly one rank of a whole-node product, and
// jobs placed on them by the real scheduler. The status follows what the cluster holds: AVAILABLE
// (two ranks fit), BUSY (one), FULL (none) while a third job waits, and AVAILABLE again once the
// jobs are gone. The nodes are sized as a kubelet that keeps 500 m and 512 MiB for itself reports
// them (allocatable below capacity): a product of the node's whole 8 cores and 32 GB only fits
// because the CPU request leaves IM2's reserve and memory is counted in GB.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { podName } from '../../src/api/v1alpha1/names.js';
import { eventually, startStack, testKubeConfig, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { kwokNode } from '../support/nodes.js';
import { createJobs, crWhen, noPodsLeft, runningPods, terminate } from '../support/jobs.js';

const category = `queue-${randomBytes(3).toString('hex')}`;
const nodeNames = [0, 1].map((i) => `kwok-${category}-${i}`);
const WHOLE = { id: `${category}-8`, category, cpu: 8, memoryInGigs: 32, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' };

const wholeNodeJob = (id: string) => batchJob(id, { product: WHOLE });

describe('queueStatus of retrieveProducts', () => {
  const core = testKubeConfig().makeApiClient(CoreV1Api);
  let stack: TestStack;

  const queueStatus = async (): Promise<string | undefined> => {
    const { status, body } = await stack.core.callProvider<{ responses: Array<{ product: { id: string }; queueStatus?: string }> }>(
      stack.operator.adapterUrl,
      'GET',
      '/ucloud/example/jobs/retrieveProducts',
    );
    expect(status).toBe(200);
    return body.responses.find((r) => r.product.id === WHOLE.id)?.queueStatus;
  };
  const statusBecomes = (expected: string) => eventually(async () => (await queueStatus()) === expected || undefined, `queueStatus ${expected}`, 30_000);

  beforeAll(async () => {
    for (const name of nodeNames) await core.createNode({ body: kwokNode(name, category, 'ucloud.dk/queue-test') });
    // kwok marks them Ready; the operator then sees them at its first node list.
    await eventually(async () => {
      const nodes = await Promise.all(nodeNames.map((name) => core.readNode({ name })));
      return nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) || undefined;
    }, 'the kwok nodes to be Ready');
    stack = await startStack({
      products: [WHOLE],
      categories: { [category]: { tolerations: [{ key: 'ucloud.dk/queue-test', operator: 'Equal', value: category, effect: 'NoSchedule' }] } },
    });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    for (const name of nodeNames) await core.deleteNode({ name }).catch(() => undefined);
  }, 60_000);

  it('is AVAILABLE, BUSY, then FULL as whole-node jobs fill the nodes, and AVAILABLE again after', async () => {
    await statusBecomes('AVAILABLE');

    expect((await createJobs(stack, wholeNodeJob('9501'))).status).toBe(200);
    const [first] = await runningPods(stack, '9501', 1);
    // IM2's sizing: 8 cores minus ceil(500 m / 8) each, 32 GB; the node's allocatable 7500 m holds it.
    expect(first!.spec?.containers[0]?.resources).toEqual({
      requests: { cpu: '7496m', memory: '32G', 'ephemeral-storage': '20Gi' },
      limits: { cpu: '8', memory: '32G', 'ephemeral-storage': '20Gi' },
    });
    expect(nodeNames).toContain(first!.spec?.nodeName);
    await statusBecomes('BUSY');

    expect((await createJobs(stack, wholeNodeJob('9502'))).status).toBe(200);
    await runningPods(stack, '9502', 1);
    await statusBecomes('FULL');

    // A third job waits: the cluster is full, and says so while it waits.
    expect((await createJobs(stack, wholeNodeJob('9503'))).status).toBe(200);
    await crWhen(stack, '9503', (j) => j.status?.state === 'IN_QUEUE', 'job 9503 IN_QUEUE');
    const waiting = await stack.ns.kube.pods.get(stack.ns.name, podName('j-9503', 0));
    expect(waiting?.spec?.nodeName).toBeFalsy();
    expect(await queueStatus()).toBe('FULL');

    // One node frees up and the waiting job takes it: still FULL.
    expect((await terminate(stack, '9501')).status).toBe(200);
    await runningPods(stack, '9503', 1);
    expect(await queueStatus()).toBe('FULL');

    expect((await terminate(stack, '9502')).status).toBe(200);
    await noPodsLeft(stack, '9502');
    await statusBecomes('BUSY');

    expect((await terminate(stack, '9503')).status).toBe(200);
    await noPodsLeft(stack, '9503');
    await statusBecomes('AVAILABLE');
  }, 180_000);
});
