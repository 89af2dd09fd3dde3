// The reporter delivers each UCloudJob's durable outbox to UCloud/Core. These tests run it over
// the in-memory kube port and the real JobsControl client talking to the UCloud/Core emulator on
// loopback, so batching, retries and acknowledgements are observed on the wire.
import type { OutboxEntry, UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { Reporter } from '../../../src/controller/reporter.js';
import { rootLogger } from '../../../src/observability/log.js';
import { OperatorMetrics } from '../../../src/observability/metrics.js';
import { JobsControlClient } from '../../../src/ucloud/control-client.js';
import { FakeKube } from '../../support/fake-kube.js';
import { UCloudCoreEmulator } from '../../support/ucloud-core-emulator.js';
import { NS, job } from '../../support/job-factory.js';

async function until(pred: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const entry = (seq: number, state: OutboxEntry['state'], status?: string): OutboxEntry => ({
  seq,
  at: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  state,
  ...(status ? { status } : {}),
});

/** A running job as the cache holds it, with these outbox entries and none acknowledged. */
const withOutbox = (id: string, entries: OutboxEntry[]): UCloudJob => ({
  ...job({ jobId: id }, `uid-${id}`),
  status: { state: 'RUNNING', outbox: { acknowledgedSeq: 0, entries } },
});

describe('Reporter', () => {
  let core: UCloudCoreEmulator;
  let kube: FakeKube;
  let reporters: Reporter[];

  beforeEach(async () => {
    core = await UCloudCoreEmulator.start({ providerId: 'example' });
    kube = new FakeKube();
    reporters = [];
  });
  afterEach(async () => {
    for (const r of reporters) await r.stop();
    await core.close();
  });

  /** A job Core created (so it knows the id) with its outbox stored in the CR. */
  async function storeJob(jobId: string, entries: OutboxEntry[], acknowledgedSeq = 0, knownToCore = true): Promise<void> {
    if (knownToCore) core.registerJobs([jobId]);
    const j = job({ jobId }, `uid-${jobId}`);
    await kube.ucloudJobs.create(j);
    await kube.ucloudJobs.mergePatchStatus(NS, j.metadata.name!, { state: 'RUNNING', outbox: { acknowledgedSeq, entries } });
  }

  async function cached(): Promise<UCloudJob[]> {
    return (await kube.ucloudJobs.list(NS)).items as UCloudJob[];
  }

  function reporter(opts: { maxItemsPerCall?: number; sweepIntervalMs?: number } = {}): Reporter {
    // The cache is the fake apiserver itself, read synchronously through a snapshot refreshed
    // before every read, as the informer cache would be after the watch event.
    let snapshot: UCloudJob[] = [];
    const refresh = () => void cached().then((items) => (snapshot = items));
    const timer = setInterval(refresh, 5);
    const control = new JobsControlClient({
      coreUrl: core.url,
      refreshToken: core.refreshToken,
      logger: rootLogger,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const r = new Reporter({
      kube,
      control,
      getJob: (ns, name) => snapshot.find((j) => j.metadata.namespace === ns && j.metadata.name === name),
      listJobs: () => snapshot,
      logger: rootLogger,
      batchWindowMs: 5,
      maxItemsPerCall: opts.maxItemsPerCall ?? 1000,
      sweepIntervalMs: opts.sweepIntervalMs ?? 20,
    });
    const stop = r.stop.bind(r);
    r.stop = async () => {
      clearInterval(timer);
      await stop();
    };
    reporters.push(r);
    refresh();
    return r;
  }

  async function acknowledged(jobId: string): Promise<number> {
    const j = await kube.ucloudJobs.get(NS, `j-${jobId}`);
    return j?.status?.outbox?.acknowledgedSeq ?? -1;
  }

  it('sends every pending update of several jobs in one call, in order, and records the acknowledgement', async () => {
    await storeJob('1', [entry(1, 'RUNNING', 'The job is running'), entry(2, 'SUCCESS', 'done')]);
    await storeJob('2', [entry(1, 'RUNNING')]);
    reporter().start();

    await core.waitFor(() => core.updates.length === 3, 5000, 'three updates');
    await until(async () => (await acknowledged('1')) === 2 && (await acknowledged('2')) === 1, 'both acknowledgements');
    expect(core.jobStates('1')).toEqual(['RUNNING', 'SUCCESS']);
    expect(core.jobStates('2')).toEqual(['RUNNING']);
    expect(core.calls.filter((c) => c.path.endsWith('/update'))).toEqual([expect.objectContaining({ status: 200, items: 3 })]);
    // Later sweeps find nothing new: no update is sent twice once acknowledged.
    await new Promise((r) => setTimeout(r, 100));
    expect(core.updates).toHaveLength(3);
  });

  it('skips entries the CR already acknowledges', async () => {
    await storeJob('3', [entry(1, 'RUNNING'), entry(2, 'SUCCESS')], 1);
    reporter().start();
    // (This emulator never saw seq 1, so it skips the conditional SUCCESS; what was sent is the point.)
    const sent = () => [...core.updates, ...core.skippedUpdates];
    await core.waitFor(() => sent().length >= 1, 5000, 'an update');
    await new Promise((r) => setTimeout(r, 100));
    expect(sent().map((u) => u.update)).toEqual([{ state: 'SUCCESS', expectedState: 'RUNNING' }]);
  });

  it('keeps what UCloud/Core did not take and delivers it once Core is back', async () => {
    core.setFaults({ failRate: 1, statusOnFail: 503 });
    await storeJob('4', [entry(1, 'RUNNING'), entry(2, 'FAILURE', 'rank 0 exited with code 3')]);
    reporter().start();
    await core.waitFor(() => core.faultsInjected >= 2, 5000, 'failed attempts');
    expect(core.updates).toHaveLength(0);
    expect(await acknowledged('4')).toBe(0);

    core.setFaults({ failRate: 0 });
    await core.waitFor(() => core.updates.length === 2, 10_000, 'delivery after recovery');
    expect(core.updates.map((u) => [u.id, u.update.state])).toEqual([
      ['4', 'RUNNING'],
      ['4', 'FAILURE'],
    ]);
  });

  it('after a restart, a new reporter resends what the old one sent but never acknowledged', async () => {
    await storeJob('5', [entry(1, 'RUNNING')]);
    // The previous process delivered seq 1 and died before its acknowledgement patch.
    reporter().start();
    await core.waitFor(() => core.updates.length === 1, 5000, 'first delivery');
    await until(async () => (await acknowledged('5')) === 1, 'the first acknowledgement');
    await reporters[0]!.stop();
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-5', { outbox: { acknowledgedSeq: 0, entries: [entry(1, 'RUNNING')] } });

    reporter().start();
    await core.waitFor(() => core.skippedUpdates.length === 1, 5000, 'redelivery');
    // At-least-once: the same update again, conditional on the state it leaves, so Core (already
    // RUNNING) does not apply it twice; nothing is lost and the timeline is not walked back.
    expect(core.skippedUpdates.map((u) => u.update)).toEqual([{ state: 'RUNNING', expectedState: 'IN_QUEUE' }]);
    expect(core.updates.map((u) => u.update)).toEqual([{ state: 'RUNNING', expectedState: 'IN_QUEUE' }]);
    await until(async () => (await acknowledged('5')) === 1, 'the acknowledgement of the resend');
  });

  it('a replayed tail after a crash (RUNNING, SUCCESS again) does not walk Core back to RUNNING', async () => {
    await storeJob('6', [entry(1, 'RUNNING'), entry(2, 'SUCCESS', 'done')]);
    reporter().start();
    await core.waitFor(() => core.updates.length === 2, 5000, 'first delivery');
    await until(async () => (await acknowledged('6')) === 2, 'the first acknowledgement');
    await reporters[0]!.stop();
    // As if it had died before recording the acknowledgement: the next process sends both again.
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-6', { outbox: { acknowledgedSeq: 0, entries: [entry(1, 'RUNNING'), entry(2, 'SUCCESS', 'done')] } });
    reporter().start();
    await core.waitFor(() => core.skippedUpdates.length === 2, 5000, 'the replay');
    expect(core.jobStates('6')).toEqual(['RUNNING', 'SUCCESS']);
    expect(core.updates.map((u) => u.update)).toEqual([
      { state: 'RUNNING', expectedState: 'IN_QUEUE' },
      { state: 'SUCCESS', status: 'done', expectedState: 'RUNNING' },
    ]);
  });

  it('sends a job as soon as the informer delivers its new outbox entry (no wait for the sweep)', async () => {
    core.registerJobs(['7']);
    const stale = job({ jobId: '7' }, 'uid-7');
    let cache: UCloudJob = stale;
    const control = new JobsControlClient({ coreUrl: core.url, refreshToken: core.refreshToken, logger: rootLogger });
    const r = new Reporter({
      kube,
      control,
      getJob: () => cache,
      listJobs: () => [cache],
      logger: rootLogger,
      batchWindowMs: 5,
      maxItemsPerCall: 1000,
      sweepIntervalMs: 0, // no sweep to fall back on
    });
    reporters.push(r);
    r.start();
    cache = { ...stale, status: { state: 'RUNNING', outbox: { acknowledgedSeq: 0, entries: [entry(1, 'RUNNING')] } } };
    r.observe(cache, 'update');
    await core.waitFor(() => core.updates.length === 1, 5000, 'the update');
    expect(core.updates[0]).toMatchObject({ id: '7', update: { state: 'RUNNING' } });
  });

  it('the acknowledgement sets the Reported condition in the same patch, leaving the other conditions as they are', async () => {
    await storeJob('8', [entry(1, 'RUNNING')]);
    const running = { type: 'Running', status: 'True' as const, reason: 'AllRanksRunning', message: 'all', lastTransitionTime: new Date(0).toISOString() };
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-8', { conditions: [running] });
    reporter().start();
    await until(async () => (await acknowledged('8')) === 1, 'the acknowledgement');
    const stored = await kube.ucloudJobs.get(NS, 'j-8');
    expect(stored!.status!.conditions).toEqual([running, expect.objectContaining({ type: 'Reported', status: 'True', reason: 'Acknowledged' })]);
    expect(kube.calls.filter((o) => o.op === 'jsonPatchStatus' && o.name === 'j-8')).toHaveLength(1);
  });

  it('while UCloud/Core takes nothing, Reported turns False once per job, saying why', async () => {
    core.setFaults({ failRate: 1, statusOnFail: 503 });
    await storeJob('9', [entry(1, 'RUNNING')]);
    const reported = {
      type: 'Reported',
      status: 'True' as const,
      reason: 'Acknowledged',
      message: 'UCloud/Core has every update',
      lastTransitionTime: new Date(0).toISOString(),
    };
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-9', { conditions: [reported] });
    reporter().start();
    await core.waitFor(() => core.faultsInjected >= 3, 10_000, 'failed attempts');
    const cond = (await kube.ucloudJobs.get(NS, 'j-9'))!.status!.conditions!.find((c) => c.type === 'Reported');
    expect(cond).toMatchObject({ status: 'False', reason: 'UpdatesPending' });
    expect(cond!.message).toContain('1 update(s) not yet acknowledged');
    expect(kube.calls.filter((o) => o.op === 'jsonPatchStatus' && o.name === 'j-9')).toHaveLength(1);
  });

  it('a job queued again while its batch was being formed does not hold up the jobs behind it', async () => {
    core.registerJobs(['30', '31']);
    const control = new JobsControlClient({ coreUrl: core.url, refreshToken: core.refreshToken, logger: rootLogger });
    const cache = new Map<string, UCloudJob>([['j-30', withOutbox('30', [entry(1, 'RUNNING')])]]);
    const r = new Reporter({
      kube,
      control,
      getJob: (_ns, name) => cache.get(name),
      listJobs: () => [...cache.values()],
      logger: rootLogger,
      batchWindowMs: 300, // a window long enough for the change below to land inside it
      maxItemsPerCall: 1000,
      sweepIntervalMs: 0, // no sweep to rescue anything
    });
    reporters.push(r);
    r.start();
    // j-30 changes again while its first batch is being formed: queued again behind itself.
    cache.set('j-30', withOutbox('30', [entry(1, 'RUNNING'), entry(2, 'SUCCESS', 'done')]));
    r.observe(cache.get('j-30')!, 'update');
    await core.waitFor(() => core.jobStates('30').includes('SUCCESS'), 5000, 'both updates of 30');
    // Then another job changes; it must not wait behind 30's second turn for ever.
    cache.set('j-31', withOutbox('31', [entry(1, 'RUNNING')]));
    r.observe(cache.get('j-31')!, 'update');
    await core.waitFor(() => core.jobStates('31').includes('RUNNING'), 5000, 'the update of 31');
  });

  it('events for a job whose updates are on their way to Core queue nothing; a newer entry does', async () => {
    core.registerJobs(['40', '41']);
    const real = new JobsControlClient({ coreUrl: core.url, refreshToken: core.refreshToken, logger: rootLogger });
    // The first call is held until released, so events can land while its entries are in flight.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered = 0;
    const control = {
      deliverUpdates: async (...args: Parameters<JobsControlClient['deliverUpdates']>) => {
        if (entered++ === 0) await held;
        return real.deliverUpdates(...args);
      },
    } as unknown as JobsControlClient;
    const cache = new Map<string, UCloudJob>([['j-40', withOutbox('40', [entry(1, 'RUNNING')])]]);
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const adds = async () => (await metrics.workqueueAdds.get()).values.find((v) => v.labels.name === 'reporter')?.value ?? 0;
    const r = new Reporter({
      kube,
      control,
      getJob: (_ns, name) => cache.get(name),
      listJobs: () => [...cache.values()],
      logger: rootLogger,
      metrics,
      batchWindowMs: 5,
      maxItemsPerCall: 1000,
      sweepIntervalMs: 0,
    });
    reporters.push(r);
    r.start();
    await until(async () => entered === 1, 'the first call');
    const before = await adds();
    // The reconciler's further writes (a condition, readiness) arrive with the same outbox.
    for (let i = 0; i < 5; i++) r.observe(cache.get('j-40')!, 'update');
    expect(await adds()).toBe(before);
    // A newer entry of the same job is owed, and so is another job's.
    cache.set('j-40', withOutbox('40', [entry(1, 'RUNNING'), entry(2, 'SUCCESS', 'done')]));
    r.observe(cache.get('j-40')!, 'update');
    cache.set('j-41', withOutbox('41', [entry(1, 'RUNNING')]));
    r.observe(cache.get('j-41')!, 'update');
    expect(await adds()).toBe(before + 2);
    release();
    await core.waitFor(() => core.jobStates('40').includes('SUCCESS') && core.jobStates('41').includes('RUNNING'), 5000, 'the newer entries');
    expect(core.updates.filter((u) => u.id === '40').map((u) => u.update.state)).toEqual(['RUNNING', 'SUCCESS']);
  });

  it('splits a large backlog into calls of at most maxItemsPerCall items', async () => {
    for (let i = 10; i < 15; i++) await storeJob(String(i), [entry(1, 'RUNNING')]);
    reporter({ maxItemsPerCall: 2 }).start();
    await core.waitFor(() => core.updates.length === 5, 5000, 'five updates');
    const sizes = core.calls.filter((c) => c.path.endsWith('/update')).map((c) => c.items);
    expect(sizes.every((n) => n <= 2)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('reports jobs UCloud/Core knows and this cluster does not as FAILURE', async () => {
    core.registerJobs(['404']);
    const r = reporter();
    r.start();
    r.reportUnknown(['404']);
    await core.waitFor(() => core.updates.length === 1, 5000, 'the failure report');
    expect(core.updates[0]).toMatchObject({ id: '404', update: { state: 'FAILURE', status: 'UCloud/Compute lost track of this job' } });
  });

  it('a job Core does not know is marked unknownToCore and never sent again; everyone else is delivered', async () => {
    await storeJob('20', [entry(1, 'RUNNING')]);
    await storeJob('21', [entry(1, 'RUNNING'), entry(2, 'SUCCESS', 'done')], 0, false); // Core gave up on its create
    const finished = { type: 'Finished', status: 'False' as const, reason: 'InProgress', message: 'not yet', lastTransitionTime: new Date(0).toISOString() };
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-21', { conditions: [finished] });
    await storeJob('22', [entry(1, 'RUNNING')]);
    reporter().start();
    await core.waitFor(() => core.jobStates('20').length === 1 && core.jobStates('22').length === 1, 5000, 'the known jobs');
    await until(async () => (await acknowledged('20')) === 1 && (await acknowledged('22')) === 1, 'their acknowledgements');
    await until(async () => !!(await kube.ucloudJobs.get(NS, 'j-21'))?.status?.unknownToCore, 'the mark');
    expect((await kube.ucloudJobs.get(NS, 'j-21'))!.status!.unknownToCore).toMatchObject({ call: 'update', why: 'Not found or permission denied (21)' });
    expect(await acknowledged('21')).toBe(0); // not acknowledged: Core never took them
    const events = kube.events.filter((e) => e.reason === 'UnknownToCore');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', regarding: expect.objectContaining({ name: 'j-21' }) });
    await until(
      async () => (await kube.ucloudJobs.get(NS, 'j-21'))?.status?.conditions?.find((c) => c.type === 'Reported')?.reason === 'UnknownToCore',
      'Reported saying nothing will be sent',
    );
    // Later sweeps leave it alone: no more calls name 21.
    const callsBefore = core.calls.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(core.calls.slice(callsBefore).filter((c) => c.path.endsWith('/update'))).toHaveLength(0);
    expect(core.jobStates('21')).toEqual([]);
  });
});
