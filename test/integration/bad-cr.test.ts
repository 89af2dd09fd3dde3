// UCloudJobs written straight to the apiserver (as `kubectl apply` would) that pass the CRD schema
// but cannot run here: the operator must explain each with an InvalidSpec condition and a
// Warning Event, create none of its children, not retry it in a loop, and keep serving other jobs.
import { EventsV1Api } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import { jobToResource } from '../../src/translate/job-to-spec.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { fixtureJob } from '../support/fixtures.js';
import { exitPod } from '../support/workload.js';

type Change = (job: UCloudJob) => void;
const T = 120_000;

const BAD: Array<[string, Change, RegExp]> = [
  ['an unknown product', (j) => void (j.spec.product = { ...j.spec.product, id: 'no-such-product' }), /spec\.product: no-such-product/],
  ['a product with other resources than offered', (j) => void (j.spec.product = { ...j.spec.product, cpu: 64, memoryInGigs: 1024 }), /asks for 64 cpu/],
  ['an image with blanks in it', (j) => void (j.spec.image = 'acme/batch:1.0.0 ; rm -rf /'), /spec\.image/],
  ['an env var name with "="', (j) => void (j.spec.env = [{ name: 'A=B', value: 'x' }]), /spec\.env\[0\]\.name/],
  [
    'a mount escaping the shared storage',
    (j) => void (j.spec.mounts = [{ name: 'm', ucloudPath: '/x', subPath: '../../etc', mountPath: '/work/x', readOnly: true }]),
    /spec\.mounts\[0\]\.subPath/,
  ],
  ['a peer hostname that is not a DNS label', (j) => void (j.spec.peers = [{ hostname: 'Not_A_Label', jobId: '1' }]), /spec\.peers\[0\]\.hostname/],
  ['a termination time that is not a date', (j) => void (j.spec.terminationRequestedAt = 'soon'), /terminationRequestedAt: not a date/],
];

describe('malformed UCloudJobs written directly to the apiserver', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // backend none: the unschedulable rule below is that backend's (with a gang backend such a job
    // waits; a product that can never fit is refused at create, docs/adr/0023).
    stack = await startStack({ jobs: { gang: { backend: 'none' }, unschedulableGraceSeconds: 2, gangTimeoutSeconds: 60 } });
  }, T);
  afterAll(async () => {
    await stack?.stop();
  });

  async function write(id: string, change: Change): Promise<string> {
    const job = jobToResource({ ...fixtureJob('create-simple-batch.json'), id }, stack.config);
    change(job);
    // Written behind the adapter's back, but as a job Core has (its reports are accepted).
    stack.core.registerJobs([id]);
    const res = await stack.ns.kube.ucloudJobs.create(job);
    expect(res.created).toBe(true);
    return job.metadata.name;
  }

  async function events(name: string) {
    const api = stack.ns.kc.makeApiClient(EventsV1Api);
    const list = await api.listNamespacedEvent({ namespace: stack.ns.name, fieldSelector: `regarding.name=${name}` });
    return list.items;
  }

  it(
    'each gets an InvalidSpec condition and one Warning Event, and nothing is created for it',
    async () => {
      const { ns } = stack;
      const names = await Promise.all(BAD.map(([, change], i) => write(`9100${i}`, change)));
      for (const [i, [what, , why]] of BAD.entries()) {
        const name = names[i]!;
        const cond = await eventually(async () => {
          const j = await ns.kube.ucloudJobs.get(ns.name, name);
          return j?.status?.conditions?.find((c) => c.type === 'InvalidSpec' && c.status === 'True');
        }, `the InvalidSpec condition of ${what}`);
        expect(cond.reason).toBe('UnsupportedSpec');
        expect(cond.message).toMatch(why);
        const evs = await eventually(async () => {
          const e = (await events(name)).filter((x) => x.reason === 'InvalidSpec');
          return e.length ? e : undefined;
        }, `the InvalidSpec Event of ${what}`);
        expect(evs[0]!.type).toBe('Warning');
        expect(evs[0]!.note).toMatch(why);
      }
      // No crash loop: after a while, still one Event each, the objects unchanged, no children.
      const versions = await Promise.all(names.map(async (n) => (await ns.kube.ucloudJobs.get(ns.name, n))?.metadata.resourceVersion));
      await new Promise((r) => setTimeout(r, 3000));
      for (const [i, n] of names.entries()) {
        expect((await events(n)).filter((x) => x.reason === 'InvalidSpec')).toHaveLength(1);
        expect((await ns.kube.ucloudJobs.get(ns.name, n))?.metadata.resourceVersion).toBe(versions[i]);
      }
      expect((await ns.kube.pods.list(ns.name)).items).toHaveLength(0);
      expect((await ns.kube.configMaps.list(ns.name, 'ucloud.dk/job')).items).toHaveLength(0);
      expect((await ns.kube.services.list(ns.name)).items).toHaveLength(0);
      expect((await ns.kube.networkPolicies.list(ns.name)).items).toHaveLength(0);
    },
    T,
  );

  it(
    'more ranks than the cluster can hold: FAILURE with a reason, a Warning Event, pods removed',
    async () => {
      const { ns, core } = stack;
      // Five one-GPU ranks; the cluster has four GPUs (kwok-gpu-0).
      const name = await write('91100', (j) => {
        j.spec.replicas = 5;
        j.spec.product = { ...j.spec.product, id: 'u1-gpu-1', category: 'u1-gpu', cpu: 8, memoryInGigs: 32, gpu: 1, unitOfPrice: 'CREDITS_PER_HOUR' };
      });
      const job = await eventually(
        async () => {
          const j = await ns.kube.ucloudJobs.get(ns.name, name);
          return j?.status?.state === 'FAILURE' ? j : undefined;
        },
        'FAILURE',
        60_000,
      );
      expect(job.status?.message).toMatch(/Rank 4 could not be scheduled within 2s/);
      const evs = await eventually(async () => {
        const e = (await events(name)).filter((x) => x.reason === 'Failed');
        return e.length ? e : undefined;
      }, 'the Failed Event');
      expect(evs[0]!.type).toBe('Warning');
      await core.waitFor(() => core.jobStates('91100').includes('FAILURE'), 30_000, 'FAILURE at the emulator');
      await eventually(async () => (await ns.kube.pods.list(ns.name, `ucloud.dk/job=${name}`)).items.length === 0, 'the ranks removed', 30_000);
    },
    T,
  );

  it(
    'keeps serving good jobs next to the bad ones',
    async () => {
      const { core, operator, ns } = stack;
      const fixture = { items: [{ ...fixtureJob('create-simple-batch.json'), id: '91200' }] };
      const res = await core.callProvider(operator.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, fixture);
      expect(res.status).toBe(200);
      await core.waitFor(() => core.jobStates('91200').includes('RUNNING'), 30_000, 'RUNNING');
      await exitPod(ns.kc, ns.name, `${jobResourceName('91200')}-0`, { code: 0 });
      await core.waitFor(() => core.jobStates('91200').includes('SUCCESS'), 30_000, 'SUCCESS');
    },
    T,
  );
});
