// Jobs exactly as today's UCloud/Core (core2) sends them, from the fixtures built with UCloud's Go
// types (test/fixtures/README.md), on the real control plane: the legacy application's job runs
// to its reports and charges, its periods counted in its category's accountingFrequency.
import { podName } from '../../src/api/v1alpha1/names.js';
import { CORE2_LEGACY, CORE2_V2, core2CreateBody } from '../support/fixtures.js';
import { TEST_PRODUCTS } from '../support/harness.js';
import { stackStoppedAfterEach } from '../support/stack-hooks.js';
import { cr, crWhen, noPodsLeft, runningPods } from '../support/jobs.js';
import { exitPod } from '../support/workload.js';

const T = 120_000;
const SECOND_MINUTES = 1000;

describe('core2-shaped jobs', () => {
  const startStack = stackStoppedAfterEach(T);

  it(
    'the legacy-application job runs to RUNNING and SUCCESS, charged per minute as its category says',
    async () => {
      // The configured unitOfPrice says per hour; the category Core sends says PERIODIC_MINUTE, and
      // that is what the charged periods must count ("minutes" of one second here).
      const products = TEST_PRODUCTS.map((p) => (p.id === 'example-compute-1' ? { ...p, unitOfPrice: 'CREDITS_PER_HOUR' } : p));
      const stack = await startStack({ products, accounting: { intervalSeconds: 1, minuteMillis: SECOND_MINUTES, settleSeconds: 0 } });
      const { core, operator, ns } = stack;
      const id = '1001';
      const created = await core.callProvider(operator.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, core2CreateBody(CORE2_LEGACY, id));
      expect(created).toEqual({ status: 200, body: { responses: [null] } });

      const job = await crWhen(stack, id, () => true, 'the UCloudJob');
      expect(job.spec).toMatchObject({
        command: ['echo', 'Hello, core2!', '--count', '5', '--mode', 'thorough', '--ratio', '0.5', '--verbose'],
        env: [{ name: 'GREETING', value: 'Hello, core2!' }],
        workingDir: '/work',
        runAsRoot: false,
        product: { id: 'example-compute-1', unitOfPrice: 'CREDITS_PER_HOUR', accountingFrequency: 'PERIODIC_MINUTE' },
        owner: { createdBy: 'user#1234', project: '8f1c2a3e-project' },
      });
      const [pod] = await runningPods(stack, id, 1);
      expect(pod!.spec?.securityContext?.runAsNonRoot).toBe(true);
      await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at UCloud/Core');
      // Two one-second windows charged while it runs: counted in hours it would still be none.
      await core.waitFor(() => core.chargedPeriods(id) >= 2, 60_000, 'per-minute charges while running');

      await exitPod(ns.kc, ns.name, podName(job.metadata.name, 0), { code: 0 });
      await core.waitFor(() => core.jobStates(id).includes('SUCCESS'), 60_000, 'SUCCESS at UCloud/Core');
      expect(core.jobStates(id)).toEqual(['RUNNING', 'SUCCESS']);
      await noPodsLeft(stack, id);
      const done = await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS' && j.status.accounting !== undefined, 'SUCCESS in the CR');
      const ran = Date.parse(done.status!.finishedAt!) - Date.parse(done.status!.startedAt!);
      const minutes = Math.max(1, Math.ceil(ran / SECOND_MINUTES));
      await core.waitFor(() => core.chargedPeriods(id) === minutes, 30_000, `${minutes} periods charged in all`);
      expect(core.conflictingCharges()).toEqual([]);
    },
    T,
  );

  it(
    'the v2 (jinja) application job is accepted and carries its template to the UCloudJob',
    async () => {
      const stack = await startStack();
      const { core, operator } = stack;
      const id = '1002';
      const created = await core.callProvider(operator.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, core2CreateBody(CORE2_V2, id));
      expect(created).toEqual({ status: 200, body: { responses: [null] } });
      const job = await crWhen(stack, id, () => true, 'the UCloudJob');
      // The template as Core sent it, whatever else the render step records beside it.
      expect(JSON.stringify(job.spec.invocationTemplate)).toContain(JSON.stringify('echo {{ greeting }}\n').slice(1, -1));
      expect(job.spec.product.accountingFrequency).toBe('PERIODIC_MINUTE');
      expect(await cr(stack, id)).toBeDefined();
    },
    T,
  );
});
