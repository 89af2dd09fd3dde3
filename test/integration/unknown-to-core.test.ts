// A job UCloud/Core does not know never holds back the others (docs/adr/0015-rejected-batches.md),
// on the real control plane against the core2-faithful emulator: core2 refuses a whole
// chargeCredits batch (400) or update batch (404) when one id in it is unknown. The operator
// splits such batches, keeps charging and reporting everyone else, and stops the unknown job with
// a KnownToCore=False condition and a Warning Event, charging nothing twice (emulator ledger).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventsV1Api } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import type { UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import type { TestStack } from '../support/harness.js';
import { stackStoppedAfterEach } from '../support/stack-hooks.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, cr, crWhen, noPodsLeft, terminate } from '../support/jobs.js';

const T = 240_000;
const INTERVAL_MS = 2000;

async function warnings(stack: TestStack, name: string, reason: string) {
  const api = stack.ns.kc.makeApiClient(EventsV1Api);
  const list = await api.listNamespacedEvent({ namespace: stack.ns.name, fieldSelector: `regarding.name=${name}` });
  return list.items.filter((e) => e.reason === reason);
}

const condition = (j: UCloudJob | undefined, type: string) => j?.status?.conditions?.find((c) => c.type === type);

describe('a job UCloud/Core does not know', () => {
  const startStack = stackStoppedAfterEach(T);

  it(
    'Core forgets one of 50 running jobs: the other 49 are charged in that same pass and reported; the one is stopped, nothing charged twice',
    async () => {
      // One-second price minutes, one accounting pass every 2 s (2-period windows).
      const stack = await startStack({ accounting: { intervalSeconds: INTERVAL_MS / 1000, minuteMillis: 1000, settleSeconds: 1 } });
      const { core } = stack;
      const ids = Array.from({ length: 50 }, (_, i) => String(70_000 + i));
      const victim = ids[17]!;
      const others = ids.filter((id) => id !== victim);
      // core2 creates one job per call (jobCreateThroughProvider). Ten at a time: fifty at once on a
      // loaded 2-core machine pushed one create past the emulator's 5 s (core2's own limit, which
      // the create-latency benchmark measures), and this test is about what follows the creates.
      for (let i = 0; i < ids.length; i += 10) {
        for (const res of await Promise.all(ids.slice(i, i + 10).map((id) => createJobs(stack!, batchJob(id))))) expect(res.status).toBe(200);
      }
      await core.waitFor(() => ids.every((id) => core.jobStates(id).includes('RUNNING')), 120_000, 'all 50 RUNNING at UCloud/Core');
      await core.waitFor(() => ids.every((id) => core.chargedPeriods(id) > 0), 60_000, 'a charge for every job');

      const forgottenAt = Date.now();
      const chargedBefore = core.chargedPeriods(victim);
      core.forgetJob(victim);

      // The first chargeCredits call Core refuses after it forgot the job: the pass that met it.
      const refused = () => core.calls.find((c) => c.at >= forgottenAt && c.path.endsWith('/chargeCredits') && c.status === 400);
      await core.waitFor(() => refused() !== undefined, 30_000, 'a refused chargeCredits batch');
      const passAt = refused()!.at;
      // Every other job gets a window booked in that same pass, before the next one could start.
      await core.waitFor(
        () => others.every((id) => core.charges.some((c) => c.item.id === id && c.at >= passAt && c.at < passAt + INTERVAL_MS)),
        30_000,
        'the other 49 charged in the pass that met the unknown job',
      );

      // The forgotten job: marked, stopped, its condition and one Warning Event.
      const name = jobResourceName(victim);
      const stopped = await crWhen(stack, victim, (j) => j.status?.state === 'FAILURE', 'the forgotten job stopped', 60_000);
      expect(stopped.status?.unknownToCore).toMatchObject({ call: 'chargeCredits', why: 'Could not fetch jobs: 403 Write permission is required' });
      expect(condition(stopped, 'KnownToCore')).toMatchObject({ status: 'False', reason: 'UnknownToCore' });
      expect(condition(stopped, 'Finished')).toMatchObject({ status: 'True', reason: 'UnknownToCore' });
      await noPodsLeft(stack, victim);
      const events = await warnings(stack, name, 'UnknownToCore');
      expect(events).toHaveLength(1);
      expect(events[0]!.type).toBe('Warning');
      // What Core accepted before it forgot the job stays recorded; its FAILURE is never sent.
      expect(stopped.status?.accounting?.chargedPeriods).toBe(chargedBefore);
      expect(core.updates.filter((u) => u.id === victim && u.update.state === 'FAILURE')).toHaveLength(0);

      // The others keep being reported: stop them all; every SUCCESS arrives, and their last windows.
      // Ten at a time, as the creates above: 49 at once on the loaded machine can outlast Core's 5 s.
      for (let i = 0; i < others.length; i += 10) {
        for (const res of await Promise.all(others.slice(i, i + 10).map((id) => terminate(stack!, id)))) expect(res.status).toBe(200);
      }
      await core.waitFor(() => others.every((id) => core.jobStates(id).at(-1) === 'SUCCESS'), 120_000, 'SUCCESS of the other 49');
      const finals = await Promise.all(
        others.map((id) => crWhen(stack!, id, (j) => j.status?.state === 'SUCCESS' && (j.status.accounting?.chargedPeriods ?? 0) > 0, `${id} settled`)),
      );
      await core.waitFor(
        () =>
          finals.every(
            (j) => core.chargedPeriods(j.spec.jobId) === Math.max(1, Math.ceil((Date.parse(j.status!.finishedAt!) - Date.parse(j.status!.startedAt!)) / 1000)),
          ),
        60_000,
        'every job charged exactly the periods it ran',
      );

      // The ledger: no chargeId ever arrived with two different values, nothing for the victim since.
      expect(core.conflictingCharges()).toEqual([]);
      expect(core.chargedPeriods(victim)).toBe(chargedBefore);
      expect((await cr(stack, victim))?.status?.accounting?.chargedPeriods).toBe(chargedBefore);
    },
    T,
  );

  it(
    'a create Core gave up on after its 5 s timeout: the job is stopped once Core refuses its RUNNING; the job beside it is reported',
    async () => {
      const stack = await startStack();
      const { core } = stack;
      // One create reaches the adapter only after Core's 5 s client timeout (a loaded provider):
      // Core has deleted the job by then (jobCreateThroughProvider), and the operator creates it.
      const slow = await delayingProxy(stack.operator.adapterUrl, 6000);
      try {
        const late = await core.callProvider(slow.url, 'POST', `/ucloud/${core.providerId}/jobs`, { items: [batchJob('71001')] });
        expect(late).toEqual({ status: 0, body: { timedOut: true } });
        expect(core.knowsJob('71001')).toBe(false);
        expect((await createJobs(stack, batchJob('71002'))).status).toBe(200);
        await crWhen(stack, '71001', () => true, 'the late create to arrive');

        const stopped = await crWhen(stack, '71001', (j) => j.status?.state === 'FAILURE', 'the orphan stopped', 60_000);
        expect(stopped.status?.unknownToCore).toMatchObject({ why: 'Not found or permission denied (71001)' });
        expect(condition(stopped, 'KnownToCore')).toMatchObject({ status: 'False', reason: 'UnknownToCore' });
        await noPodsLeft(stack, '71001');
        expect(await warnings(stack, jobResourceName('71001'), 'UnknownToCore')).toHaveLength(1);
        await core.waitFor(() => core.jobStates('71002').includes('RUNNING'), 60_000, 'RUNNING of the job beside it');
        expect(core.jobStates('71001')).toEqual([]);
        expect(core.charges.filter((c) => c.item.id === '71001')).toEqual([]);
      } finally {
        await slow.close();
      }
    },
    T,
  );
});

/** Forwards each request to `target` only `delayMs` after it arrived (whoever asked may be gone). */
async function delayingProxy(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const up = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          if (res.destroyed) return void answer.resume();
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(chunks));
      }, delayMs).unref();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
