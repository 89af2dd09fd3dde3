// A job the cluster can never hold is refused at create (src/adapter/never-fits.ts, ADR 0023),
// on the real control plane: two kwok nodes of a category of their own, each with room for one
// rank of a whole-node product. A product larger than a node, or more whole-node ranks than there
// are nodes, gets UCloud's 4xx {"why","errorCode"} and no UCloudJob; ranks that fit are accepted
// and placed by the real scheduler.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { eventually, startStack, testKubeConfig, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, runningPods } from '../support/jobs.js';
import { kwokNode } from '../support/nodes.js';

const category = `fits-${randomBytes(3).toString('hex')}`;
const taint = 'ucloud.dk/fits-test';
const nodeNames = [0, 1].map((i) => `kwok-${category}-${i}`);
const product = (cpu: number, memoryInGigs: number) => ({
  id: `${category}-${cpu}-${memoryInGigs}`,
  category,
  cpu,
  memoryInGigs,
  gpu: 0,
  unitOfPrice: 'CREDITS_PER_MINUTE',
});
const WHOLE = product(8, 32);
// Twice a node's memory (the largest cpu stays 8, so WHOLE keeps its size: ADR 0023's reserve).
const DOUBLE = product(8, 64);

describe('create of a job the cluster can never hold', () => {
  const core = testKubeConfig().makeApiClient(CoreV1Api);
  let stack: TestStack;

  beforeAll(async () => {
    for (const name of nodeNames) await core.createNode({ body: kwokNode(name, category, taint) });
    await eventually(async () => {
      const nodes = await Promise.all(nodeNames.map((name) => core.readNode({ name })));
      return nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) || undefined;
    }, 'the kwok nodes to be Ready');
    stack = await startStack({
      products: [WHOLE, DOUBLE],
      categories: { [category]: { tolerations: [{ key: taint, operator: 'Equal', value: category, effect: 'NoSchedule' }] } },
    });
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    for (const name of nodeNames) await core.deleteNode({ name }).catch(() => undefined);
  }, 60_000);

  const stored = (id: string) => stack.ns.kube.ucloudJobs.get(stack.ns.name, jobResourceName(id));

  it('refuses a product larger than any node with a 400 and a why, and stores nothing', async () => {
    const res = await createJobs(stack, batchJob('9601', { product: DOUBLE }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      errorCode: 'PRODUCT_NEVER_FITS',
      why:
        `items[0].specification.product: product ${DOUBLE.id} can never run here: one rank needs 7.496 CPU, 64 GB memory, ` +
        `more than any of the 2 nodes of category ${category} has (after the 500m CPU a node keeps for itself)`,
    });
    expect(await stored('9601')).toBeUndefined();
  });

  it('refuses more whole-node ranks than there are nodes, and accepts and places as many as there are', async () => {
    const three = await createJobs(stack, batchJob('9602', { product: WHOLE, replicas: 3 }));
    expect(three.status).toBe(400);
    expect(three.body).toMatchObject({
      errorCode: 'PRODUCT_NEVER_FITS',
      why: `items[0].specification.product: product ${WHOLE.id} can never run 3 ranks at once here: the 2 nodes of category ${category} hold at most 2 of its ranks together, even when empty`,
    });
    expect(await stored('9602')).toBeUndefined();

    expect((await createJobs(stack, batchJob('9603', { product: WHOLE, replicas: 2 }))).status).toBe(200);
    const pods = await runningPods(stack, '9603', 2);
    expect(pods.map((p) => p.spec?.nodeName).sort()).toEqual(nodeNames);
  }, 60_000);
});
