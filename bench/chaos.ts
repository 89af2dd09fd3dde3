// Crash-safety chaos run (README: `npm run chaos`). Many jobs (mixed ranks; some succeed,
// some fail, some are terminated, some expire) go through the operator as a child process while
//   - the operator is SIGKILLed at random moments (CHAOS_KILLS times) and started again,
//   - the UCloud/Core emulator fails CHAOS_FAULT_RATE of the control calls (5xx and timeouts),
//   - kube-apiserver is restarted once (every watch breaks).
// At the end, with the operator left running in peace, it checks per job:
//   1. the last state at UCloud/Core is the one its pods decided (or the termination/expiry), and
//      the CR agrees;
//   2. the reported sequence is a legal one (first occurrences: RUNNING at most, then one final
//      state, which is also the last one; a resent tail after a kill is counted as a replay), and
//      RUNNING was reported only for jobs whose ranks all ran;
//   3. charged periods (Core's last-wins per chargeId) == max(1, ceil((finishedAt - startedAt) / period)),
//      no chargeId sent with two different amounts, and nothing charged for a job that never ran;
//   4. no pods, ConfigMaps, Services or NetworkPolicies are left behind;
//   5. a job whose create failed at Core (a kill or a restart mid-call: Core deletes the job, as
//      core2's jobCreateThroughProvider does; the user resubmits it under a new id) is, if the
//      operator created it all the same, stopped and marked unknownToCore, never left running.
// Sampled every 500 ms all along, two more invariants (ADR 0025; the backend is `auto`, which is
// native on the local control plane, so multi-rank jobs get a PodGroup; CHAOS_GANG=1 makes it
// `native` on eight dedicated kwok nodes of two ranks each (bench/gang-drain.ts), with most jobs
// multi-rank, so that jobs queue):
//   6. no partial gang holds a node: no job, not final, with some ranks bound while another has no
//      node, in two samples in a row with the same ranks bound (one sample may fall between the
//      bind calls of a gang the scheduler placed at once);
//   7. nothing is charged while a job is queued: a job without startedAt has no charge at Core
//      (charges read before the job, so a start in between cannot hide one).
// Prints the counts (jobs, kills, faults, inputs, invariant checks) and exits non-zero on a violation.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { CoreV1Api, NetworkingV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, isFinal, unacknowledged, type UCloudJob } from '../src/api/v1alpha1/ucloudjob.js';
import { jobResourceName } from '../src/api/v1alpha1/names.js';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { UCloudCoreEmulator, mulberry32 } from '../test/support/ucloud-core-emulator.js';
import { EXIT_AFTER, EXIT_CODE } from '../test/support/workload.js';
import type { Job } from '../src/ucloud/job.js';
import { gangCategory, gangNodes } from './gang-drain.js';
import { CLUSTER_DIR, REPO, createNamespace, kubeConfig, log, ports, rawConfig, simpleJob, sleep, startOperatorProcess, type OperatorProcess } from './lib.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 300);
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const FAULT_RATE = Number(process.env.CHAOS_FAULT_RATE ?? 0.3);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 100000);
const MINUTE_MS = 100; // one price "minute": charge windows of 2 s (intervalSeconds 2)
const SETTLE_MS = Number(process.env.CHAOS_SETTLE_MS ?? 240_000);
const GANG = process.env.CHAOS_GANG === '1';
const GANG_ENV = GANG ? ' CHAOS_GANG=1' : '';
// Ranks 1, 2, 4: the shares of 1 and of 1 or 2.
const [ONE_RANK, UP_TO_TWO] = GANG ? [0.3, 0.6] : [0.7, 0.9];

type Fate = 'succeed' | 'fail' | 'terminate' | 'expire';

interface Planned {
  id: string;
  name: string;
  /** Ids of earlier submissions of this job whose create failed (Core deleted them). */
  abandoned: string[];
  ranks: number;
  fate: Fate;
  created: boolean;
  /** Exit annotations patched onto its pods (or terminate sent). */
  acted: boolean;
}

// mulberry32 (the emulator's), so a seed repeats a run's plan.
const rnd = mulberry32(SEED);

const replays: string[] = [];
const counts = {
  abandoned: 0,
  abandonedWithCr: 0,
  replayedJobs: 0,
  kills: 0,
  apiserverRestarts: 0,
  adapterCalls: 0,
  adapterRetries: 0,
  podPatches: 0,
  terminates: 0,
  invariantChecks: 0,
  violations: 0,
  gangSamples: 0,
  /** Samples that caught a gang between its bind calls (partial once, not twice in a row). */
  bindingSamples: 0,
  maxWaiting: 0,
};
/** Jobs seen IN_QUEUE with the queue's text (ADR 0025), by name. */
const waited = new Set<string>();
const violations: string[] = [];
function check(ok: boolean, what: string): void {
  counts.invariantChecks++;
  if (!ok) {
    counts.violations++;
    violations.push(what);
  }
}

/** What the pods did, from a watch that sees every change (pods are deleted at teardown). */
class PodHistory {
  readonly byPod = new Map<string, { job: string; rank: number; phases: string[]; exitCode?: number; reason?: string }>();
  private abort?: AbortController;
  private stopped = false;
  constructor(
    private readonly kc: ReturnType<typeof kubeConfig>,
    private readonly ns: string,
  ) {}
  async start(): Promise<void> {
    const { Watch } = await import('@kubernetes/client-node');
    const watch = new Watch(this.kc);
    const begin = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        this.abort = await watch.watch(
          `/api/v1/namespaces/${this.ns}/pods`,
          {},
          (_type: string, pod: V1Pod) => this.note(pod),
          () => void (this.stopped ? undefined : setTimeout(() => void begin(), 300)),
        );
      } catch {
        setTimeout(() => void begin(), 500);
      }
    };
    await begin();
  }
  private note(pod: V1Pod): void {
    const name = pod.metadata?.name ?? '';
    const job = pod.metadata?.labels?.['ucloud.dk/job'];
    if (!job) return;
    let h = this.byPod.get(name);
    if (!h) this.byPod.set(name, (h = { job, rank: Number(pod.metadata?.labels?.['ucloud.dk/rank'] ?? -1), phases: [] }));
    const phase = pod.status?.phase;
    if (phase && h.phases[h.phases.length - 1] !== phase) h.phases.push(phase);
    const term = pod.status?.containerStatuses?.[0]?.state?.terminated;
    if (term) {
      h.exitCode = term.exitCode;
      h.reason = term.reason;
    }
  }
  ofJob(job: string) {
    return [...this.byPod.values()].filter((p) => p.job === job);
  }
  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

async function main(): Promise<void> {
  const kc = kubeConfig();
  const coreApi = kc.makeApiClient(CoreV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = await UCloudCoreEmulator.start({ providerId: 'chaos' });
  /** The last state UCloud/Core holds for the job is a final one (Core's states: a wider set than the CR's). */
  const finalAtCore = (p: Planned): boolean => ['SUCCESS', 'FAILURE', 'EXPIRED'].includes(core.jobStates(p.id).at(-1) ?? '');
  const ns = await createNamespace(kc, 'chaos');
  const gang = await gangSetup(kc, ns);
  const raw = rawConfig(ns, core, {
    ...gang.config,
    accounting: { intervalSeconds: 2, minuteMillis: MINUTE_MS },
    reporting: { batchWindowMs: 50, retryAttempts: 3 },
    reconciler: { workers: 4, resyncSeconds: 30 },
    // The oracle below judges a job's end from all of its pods (the final state is what every rank
    // decided), i.e. the rank-end rule `all`; `first` has its own deterministic tests (ADR 0021).
    jobs: {
      gangTimeoutSeconds: 3600,
      unschedulableGraceSeconds: 3600,
      vanishedPodGraceSeconds: 30,
      rankEndRule: 'all',
      ...gang.jobs,
    },
  });
  const logFile = resolve(CLUSTER_DIR, `chaos-operator-${ns}.log`);
  log(`chaos: ${JOBS} jobs, ${KILLS} kills, ${FAULT_RATE * 100}% control faults, seed ${SEED}${GANG_ENV}, namespace ${ns}, log ${logFile}`);
  const history = new PodHistory(kc, ns);
  await history.start();

  // Plan: ranks 1 (70%), 2 (20%), 4 (10%) (gangs: 30%, 30%, 40%); fates succeed 45%, fail 20%,
  // terminate 20%, expire 15%.
  const plan: Planned[] = Array.from({ length: JOBS }, (_, i) => {
    const r = rnd();
    const f = rnd();
    const id = String(500000 + i);
    return {
      id,
      name: jobResourceName(id),
      ranks: r < ONE_RANK ? 1 : r < UP_TO_TWO ? 2 : 4,
      fate: f < 0.45 ? 'succeed' : f < 0.65 ? 'fail' : f < 0.85 ? 'terminate' : 'expire',
      created: false,
      acted: false,
      abandoned: [],
    } satisfies Planned;
  });
  const byName = new Map(plan.map((p) => [p.name, p]));

  core.setFaults({ failRate: FAULT_RATE * 0.67, timeoutRate: FAULT_RATE * 0.33, timeoutMs: 2000, statusOnFail: 503, seed: SEED });

  // ports() does not check that its pair is free: an operator that exits at start-up because a
  // port is taken (EADDRINUSE at the end of its log) is started again on the next pair.
  const startOp = async (): Promise<OperatorProcess> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOperatorProcess(raw, logFile, ports());
      } catch (e) {
        if (attempt >= 3 || !readFileSync(logFile, 'utf8').slice(-2000).includes('EADDRINUSE')) throw e;
        log(`${(e as Error).message}: a port was taken; starting it again on other ports`);
      }
    }
  };
  let op: OperatorProcess = await startOp();
  const restart = async (why: string) => {
    op.child.kill('SIGKILL');
    await op.exited;
    counts.kills++;
    const inFlight = plan.filter((p) => p.created && !finalAtCore(p)).length;
    log(`SIGKILL #${counts.kills} (${why}; ${inFlight} created jobs not final at Core)`);
    await sleep(Math.floor(rnd() * 1000));
    op = await startOp();
  };

  // core2 creates one job per call and deletes it when the call fails (jobCreateThroughProvider);
  // it never retries. The user submits again: a new job, a new id.
  let nextId = 900000;
  const create = async (p: Planned): Promise<void> => {
    for (;;) {
      counts.adapterCalls++;
      const res = await core
        .callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, { items: [ucloudJob(p)] })
        .catch(() => ({ status: 0, body: undefined }));
      if (res.status === 200) return;
      if (res.status >= 400 && res.status < 500) throw new Error(`adapter refused the create of ${p.id}: ${res.status} ${JSON.stringify(res.body)}`);
      counts.adapterRetries++;
      p.abandoned.push(p.id);
      p.id = String(nextId++);
      p.name = jobResourceName(p.id);
      byName.set(p.name, p);
      await sleep(300);
    }
  };

  const callAdapter = async (path: string, body: unknown): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      counts.adapterCalls++;
      try {
        const res = await core.callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}${path}`, body);
        if (res.status === 200) return;
        // 0: no answer within Core's 5 s (e.g. while kube-apiserver restarts): the user tries again.
        if (res.status !== 0 && res.status < 500) throw new Error(`adapter refused ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      } catch (e) {
        if ((e as Error).message.startsWith('adapter refused')) throw e;
      }
      counts.adapterRetries++;
      await sleep(300);
    }
  };

  const ucloudJob = (p: Planned): Job => {
    const job = simpleJob(p.id, p.ranks);
    // Expiring jobs get 3-8 s; the others an hour (they end by their pods or a terminate).
    job.specification.timeAllocation =
      p.fate === 'expire' ? { hours: 0, minutes: 0, seconds: 3 + Math.floor(rnd() * 6) } : { hours: 1, minutes: 0, seconds: 0 };
    return job;
  };

  // The driver: creates jobs in batches, makes their pods exit (or terminates them) once they run.
  const gapMs = (KILLS * 4500) / Math.max(1, JOBS / 14.5);
  const createAll = (async () => {
    for (let i = 0; i < plan.length;) {
      const batch = plan.slice(i, i + 5 + Math.floor(rnd() * 20));
      i += batch.length;
      await Promise.all(batch.map((p) => create(p).then(() => (p.created = true))));
      // Spread creation over the kill schedule, so kills land while jobs are in flight.
      await sleep(Math.floor(rnd() * 2 * gapMs));
    }
  })();

  const act = async (): Promise<void> => {
    const pods = (await coreApi.listNamespacedPod({ namespace: ns, resourceVersion: '0' })).items;
    const running = new Map<string, V1Pod[]>();
    for (const pod of pods) {
      const job = pod.metadata?.labels?.['ucloud.dk/job'];
      if (job && pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp) running.set(job, [...(running.get(job) ?? []), pod]);
    }
    for (const p of plan) {
      if (p.acted || !p.created) continue;
      const live = running.get(p.name) ?? [];
      if (p.fate === 'terminate' && (live.length === p.ranks || rnd() < 0.05)) {
        p.acted = true;
        counts.terminates++;
        void callAdapter('/jobs/terminate', { items: [{ id: p.id }] });
        continue;
      }
      if (live.length !== p.ranks || (p.fate !== 'succeed' && p.fate !== 'fail')) continue;
      p.acted = true;
      for (const pod of live) {
        const rank = Number(pod.metadata?.labels?.['ucloud.dk/rank']);
        const code = p.fate === 'fail' && rank === p.ranks - 1 ? 3 : 0;
        const after = `${1 + Math.floor(rnd() * 6)}s`;
        counts.podPatches++;
        await coreApi
          .patchNamespacedPod(
            { name: pod.metadata!.name!, namespace: ns, body: { metadata: { annotations: { [EXIT_AFTER]: after, [EXIT_CODE]: String(code) } } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          )
          .catch(() => (p.acted = false));
      }
    }
  };

  // Kill schedule: spread over the creation phase and a while after.
  const killer = (async () => {
    const apiserverAt = Math.floor(KILLS / 2);
    for (let k = 0; k < KILLS; k++) {
      await sleep(2000 + Math.floor(rnd() * 4000));
      await restart(`random moment ${k + 1}/${KILLS}`);
      if (k === apiserverAt) {
        log('restarting kube-apiserver');
        // Not execFileSync: the emulator lives in this process and must keep answering.
        await promisify(execFile)('bash', [resolve(REPO, 'scripts/cluster-restart-apiserver'), '--dir', CLUSTER_DIR]);
        counts.apiserverRestarts++;
      }
    }
  })();

  let driving = true;
  const driver = (async () => {
    while (driving) {
      await act().catch(() => undefined);
      await sleep(500);
    }
  })();

  let sampling = true;
  const sampler = (async () => {
    let before = new Map<string, string>();
    while (sampling) {
      await sleep(500);
      before = await sampleGangs({ plan, core, coreApi, custom, ns }, before).catch(() => new Map<string, string>()); // the apiserver restarting: start again
    }
  })();

  await createAll;
  await killer;
  log(`all ${JOBS} jobs created, ${counts.kills} kills done; letting the operator settle (faults stay on)`);

  // Settle: every job final at Core and in its CR, every charge acknowledged, children gone.
  const deadline = Date.now() + SETTLE_MS;
  let crs: UCloudJob[];
  for (;;) {
    crs = ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns })) as { items: UCloudJob[] }).items;
    const names = new Set(crs.map((j) => j.metadata.name));
    const settled =
      plan.every(finalAtCore) &&
      plan.every((p) => names.has(p.name)) &&
      crs.every(
        // Charged at least what it ran: the last window is acknowledged (an overcharge is an invariant's business).
        // A job Core deleted is settled once it is stopped and marked.
        (j) =>
          isFinal(j.status?.state) &&
          (j.status?.unknownToCore !== undefined || (!unacknowledged(j.status).length && (j.status?.accounting?.chargedPeriods ?? 0) >= expectedPeriods(j))),
      );
    const pods = (await coreApi.listNamespacedPod({ namespace: ns })).items.length;
    if (settled && pods === 0) break;
    if (Date.now() > deadline) {
      log(`not settled after ${SETTLE_MS} ms: ${plan.filter((p) => !finalAtCore(p)).length} jobs not final at Core, ${pods} pods left`);
      break;
    }
    await sleep(1000);
  }
  driving = false;
  await driver;
  sampling = false;
  await sampler;
  core.setFaults({ failRate: 0, timeoutRate: 0 });
  await sleep(2000);
  history.stop();

  // --- invariants ---------------------------------------------------------------------------
  const crByName = new Map(crs.map((j) => [j.metadata.name, j]));
  for (const p of plan) {
    const states = core.jobStates(p.id);
    const cr = crByName.get(p.name);
    const pods = history.ofJob(p.name);
    const final = states[states.length - 1];
    check(cr !== undefined, `${p.id}: the UCloudJob exists`);
    // 1. Final state = what the pods (or termination/expiry) decided; the CR agrees.
    const failedPod = pods.some((h) => h.phases.includes('Failed') && h.exitCode !== 0);
    const allSucceeded = pods.length === p.ranks && pods.every((h) => h.phases.includes('Succeeded'));
    let want: string;
    if (failedPod) want = 'FAILURE';
    else if (cr?.spec.terminationRequestedAt && !(allSucceeded && p.fate === 'succeed')) want = 'SUCCESS';
    else if (p.fate === 'expire') want = 'EXPIRED';
    else if (allSucceeded) want = 'SUCCESS';
    else want = '(pods never ended)';
    // A terminate can race the pods of a job that was meant to fail: the pods decide then.
    check(final === want, `${p.id} (${p.fate}, ${p.ranks} ranks): final state at Core ${final}, pods say ${want}; reported ${states.join(' > ')}`);
    check(cr?.status?.state === final, `${p.id}: CR state ${cr?.status?.state} != Core's ${final}`);
    // 2. Legal sequence, no invented state.
    // At-least-once delivery: a kill between Core's answer and the acknowledgement resends the
    // unacknowledged tail of the outbox, so Core may see RUNNING > SUCCESS > RUNNING > SUCCESS.
    // That is a replay (counted), not a new state; what must hold is the order of first
    // occurrences (RUNNING at most before one final state) and that the last one is that final state.
    const firsts = states.filter((st, i) => states.indexOf(st) === i);
    const legal =
      firsts.length >= 1 &&
      firsts.length <= 2 &&
      (firsts.length === 1 || firsts[0] === 'RUNNING') &&
      firsts[firsts.length - 1] !== 'RUNNING' &&
      final === firsts[firsts.length - 1];
    check(legal, `${p.id}: illegal sequence ${states.join(' > ')}`);
    if (states.length > firsts.length) {
      counts.replayedJobs++;
      replays.push(`${p.id}: ${states.join(' > ')}`);
    }
    if (states.includes('RUNNING')) {
      // A pod that Succeeded, or Failed with an exit code, ran (the watch may have missed the
      // Running phase while the apiserver was down).
      const ran = (h: (typeof pods)[number]) =>
        h.phases.includes('Running') || h.phases.includes('Succeeded') || (h.phases.includes('Failed') && h.exitCode !== undefined);
      const ranksRan = new Set(pods.filter(ran).map((h) => h.rank));
      check(ranksRan.size === p.ranks, `${p.id}: RUNNING reported but only ranks ${[...ranksRan].join(',')} of ${p.ranks} ever ran`);
    }
    if (failedPod || final === 'FAILURE') check(failedPod, `${p.id}: FAILURE reported but no pod failed`);
    // 3. Charges.
    if (cr) {
      const want = expectedPeriods(cr);
      check(
        core.chargedPeriods(p.id) === want,
        `${p.id}: charged ${core.chargedPeriods(p.id)} periods at Core, ran ${want} (startedAt ${cr.status?.startedAt}, finishedAt ${cr.status?.finishedAt})`,
      );
      if (!cr.status?.startedAt) check(core.chargedPeriods(p.id) === 0, `${p.id}: charged without ever running`);
    }
  }
  // 5. Abandoned submissions: Core deleted them; a UCloudJob the operator made of one all the same
  // is stopped, marked unknownToCore, and has no pods (checked below with everyone's).
  for (const p of plan) {
    for (const id of p.abandoned) {
      counts.abandoned++;
      const cr = crByName.get(jobResourceName(id));
      check(!core.knowsJob(id), `${id}: Core still knows an abandoned submission`);
      if (!cr) continue;
      counts.abandonedWithCr++;
      check(
        isFinal(cr.status?.state) && cr.status?.unknownToCore !== undefined,
        `${id}: abandoned at Core but its UCloudJob is ${cr.status?.state} without unknownToCore`,
      );
    }
  }
  check(core.conflictingCharges().length === 0, `chargeIds sent with different periods: ${core.conflictingCharges().slice(0, 5).join(', ')}`);
  // 4. No orphans.
  const leftovers = {
    pods: (await coreApi.listNamespacedPod({ namespace: ns })).items.length,
    configMaps: (await coreApi.listNamespacedConfigMap({ namespace: ns })).items.filter((c) => c.metadata?.name?.startsWith('j-')).length,
    services: (await coreApi.listNamespacedService({ namespace: ns })).items.length,
    networkPolicies: (await net.listNamespacedNetworkPolicy({ namespace: ns })).items.length,
  };
  for (const [kind, n] of Object.entries(leftovers)) check(n === 0, `${n} ${kind} left behind`);
  void byName;

  op.child.kill('SIGTERM');
  await op.exited;
  await core.close();
  await coreApi.deleteNamespace({ name: ns }).catch(() => undefined);
  await gang.removeNodes();

  const fates = plan.reduce<Record<string, number>>((m, p) => ((m[p.fate] = (m[p.fate] ?? 0) + 1), m), {});
  const ranks = plan.reduce<Record<string, number>>((m, p) => ((m[p.ranks] = (m[p.ranks] ?? 0) + 1), m), {});
  const controlCalls = core.calls.filter((c) => c.path.includes('/control/')).length;
  process.stdout.write(
    `\nchaos (seed ${SEED}): ${JOBS} jobs ${JSON.stringify(fates)}, ranks ${JSON.stringify(ranks)}\n` +
      `  kills ${counts.kills}, apiserver restarts ${counts.apiserverRestarts}, control calls ${controlCalls} of which faults injected ${core.faultsInjected}\n` +
      `  inputs: adapter calls ${counts.adapterCalls} (${counts.adapterRetries} retried), terminates ${counts.terminates}, pod exit patches ${counts.podPatches}\n` +
      `  creates Core gave up on (resubmitted under a new id) ${counts.abandoned}, of which the operator had made a UCloudJob ${counts.abandonedWithCr}\n` +
      `  updates received ${core.updates.length}, charges received ${core.charges.length}\n` +
      gangSummary() +
      `  invariant checks ${counts.invariantChecks}, violations ${counts.violations}; jobs whose updates Core saw replayed (at-least-once) ${counts.replayedJobs}\n`,
  );
  for (const v of violations.slice(0, 40)) process.stdout.write(`  VIOLATION ${v}\n`);
  for (const r of replays.slice(0, 10)) process.stdout.write(`  replayed ${r}\n`);
  if (counts.violations)
    process.stdout.write(
      `  replay: CHAOS_SEED=${SEED} CHAOS_JOBS=${JOBS} CHAOS_KILLS=${KILLS} CHAOS_FAULT_RATE=${FAULT_RATE}${GANG_ENV} CHAOS_SKIP_FUZZ=1 npm run chaos (operator log ${logFile})\n`,
    );
  process.exitCode = counts.violations ? 1 : 0;
}

/** Invariants 6 and 7 at one moment; returns the partial gangs seen (job → its bound ranks). */
/** With CHAOS_GANG, the dedicated nodes and the configuration that puts the jobs on them; else nothing. */
async function gangSetup(
  kc: ReturnType<typeof kubeConfig>,
  ns: string,
): Promise<{ removeNodes: () => Promise<void>; config: Record<string, unknown>; jobs: Record<string, unknown> }> {
  if (!GANG) return { removeNodes: async () => undefined, config: {}, jobs: {} };
  return { removeNodes: await gangNodes(kc, ns), config: gangCategory(ns), jobs: { gang: { backend: 'native' }, ephemeralStorage: { default: '1Gi' } } };
}

function gangSummary(): string {
  return `  ${GANG ? 'native gangs on 8 two-rank nodes' : 'gangs'}: ${counts.gangSamples} samples, ${waited.size} jobs waited IN_QUEUE (at most ${counts.maxWaiting} at once), ${counts.bindingSamples} samples between a gang's bind calls\n`;
}

async function sampleGangs(
  { plan, core, coreApi, custom, ns }: { plan: Planned[]; core: UCloudCoreEmulator; coreApi: CoreV1Api; custom: CustomObjectsApi; ns: string },
  before: Map<string, string>,
): Promise<Map<string, string>> {
  const charged = new Map(plan.map((p) => [p.name, core.chargedPeriods(p.id)]));
  const pods = (await coreApi.listNamespacedPod({ namespace: ns, labelSelector: 'ucloud.dk/job' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const jobs = ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns })) as { items: UCloudJob[] }).items;
  const crs = new Map(jobs.map((j) => [j.metadata.name, j]));
  counts.gangSamples++;
  let waiting = 0;
  for (const j of jobs) {
    if (j.status?.state === 'IN_QUEUE' && j.status.message?.startsWith('Waiting for')) {
      waiting++;
      waited.add(j.metadata.name);
    }
    if (!j.status?.startedAt)
      check(!charged.get(j.metadata.name), `${j.spec.jobId}: charged ${charged.get(j.metadata.name)} periods while not started (${j.status?.state})`);
  }
  counts.maxWaiting = Math.max(counts.maxWaiting, waiting);
  const byJob = new Map<string, V1Pod[]>();
  for (const p of pods) byJob.set(p.metadata!.labels!['ucloud.dk/job']!, [...(byJob.get(p.metadata!.labels!['ucloud.dk/job']!) ?? []), p]);
  const partial = new Map<string, string>();
  for (const [name, ps] of byJob) {
    const cr = crs.get(name);
    // A final job is being torn down (its state is written before its pods go).
    if (!cr || isFinal(cr.status?.state)) continue;
    const bound = ps.filter((p) => p.spec?.nodeName).map((p) => p.metadata!.name!);
    if (!bound.length || bound.length >= cr.spec.replicas) continue;
    const set = bound.sort().join(',');
    partial.set(name, set);
    if (before.get(name) === set) check(false, `${cr.spec.jobId}: a partial gang holds nodes across two samples (${set} bound of ${cr.spec.replicas} ranks)`);
    else counts.bindingSamples++;
  }
  return partial;
}

/** max(1, ceil((finishedAt - startedAt) / period)): the running time in price periods (ADR 0005). */
function expectedPeriods(job: UCloudJob): number {
  const s = job.status;
  if (!s?.startedAt) return 0;
  if (!s.finishedAt) return NaN;
  return Math.max(1, Math.ceil((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / MINUTE_MS));
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    process.stderr.write(`chaos run failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
