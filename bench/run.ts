// The benchmark suite (README: `npm run bench`). Every figure is measured next to a
// baseline on the same apiserver in the same run, and reported as absolute numbers plus a ratio.
// Size knob: BENCH_SCALE (1 = 1,000 jobs; 0.1 for a quick run). Results: a table on stdout and
// bench/results/<timestamp>.json. See docs/performance.md for what bounds each figure.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type UCloudJob } from '../src/api/v1alpha1/ucloudjob.js';
import { buildPod } from '../src/controller/desired/pod-builder.js';
import { configMap } from '../src/controller/desired/rank-files.js';
import { headlessService } from '../src/controller/desired/service-builder.js';
import { networkPolicyFor } from '../src/controller/desired/network-policy-builder.js';
import type { OperatorConfig } from '../src/config.js';
import { setLogSink } from '../src/observability/log.js';
import { startOperator } from '../src/operator.js';
import { withKeepAlive } from '../src/k8s/client-node-port.js';
import { jobToResource } from '../src/translate/job-to-spec.js';
import { UCloudCoreEmulator } from '../test/support/ucloud-core-emulator.js';
import { EXIT_AFTER, EXIT_CODE } from '../test/support/workload.js';
import {
  BUILD_DIR,
  clusterEnv,
  apiserverWrites,
  operatorMetrics,
  writesDelta,
  CLUSTER_DIR,
  REPO,
  createNamespace,
  deleteNamespace,
  kubeConfig,
  log,
  mapLimited,
  operatorConfig,
  percentile,
  ports,
  procSample,
  clusterPids,
  cpuSecondsOf,
  rawConfig,
  simpleJob,
  simpleResource,
  sleep,
  siteRuntimeEnv,
  startOperatorProcess,
  waitUntil,
  type OperatorProcess,
} from './lib.js';
import { WatchCounter } from './watch-counter.js';
import { benchRealNodeStart } from './real-node-start.js';
import { drain } from './gang-drain.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const N = Math.max(10, Math.round(1000 * SCALE));
const N8 = Math.max(2, Math.round(N / 10));
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 15);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'a,b,c,d,e,f,g,h,i').split(','));
const TIMEOUT = Number(process.env.BENCH_TIMEOUT_MS ?? Math.max(300_000, N * 600));

interface Figure {
  id: string;
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  ratio?: number;
  target?: string;
  met?: boolean;
  detail?: Record<string, unknown>;
}
const figures: Figure[] = [];
function record(f: Figure): void {
  if (f.baseline !== undefined && f.ratio === undefined && f.baseline > 0) f.ratio = f.value / f.baseline;
  figures.push(f);
  log(`${f.id} ${f.name}: ${fmt(f.value)} ${f.unit}${f.baseline !== undefined ? ` (baseline ${fmt(f.baseline)}, ratio ${fmt(f.ratio ?? NaN)})` : ''}`);
}
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

const ids = (prefix: number, n: number) => Array.from({ length: n }, (_, i) => String(prefix + i));

function customApi(kc: KubeConfig) {
  const api = kc.makeApiClient(CustomObjectsApi);
  return {
    create: (job: UCloudJob) =>
      api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: job.metadata.namespace!, body: job }) as Promise<UCloudJob>,
    list: async (namespace: string) =>
      ((await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })) as { items: UCloudJob[] }).items,
  };
}

// --- (a) adapter bulk create ----------------------------------------------------------------
async function benchAdapter(kc: KubeConfig, core: UCloudCoreEmulator): Promise<void> {
  const jobIds = ids(100000, N);
  const custom = customApi(kc);

  const loop = async (concurrency: number, keepAlive = false): Promise<number> => {
    const custom = customApi(keepAlive ? withKeepAlive(kc) : kc);
    const ns = await createNamespace(kc, `ba-loop${concurrency}${keepAlive ? 'ka' : ''}`);
    const config = operatorConfig(rawConfig(ns, core));
    const resources = jobIds.map((id) => jobToResource(simpleJob(id), config));
    const t0 = performance.now();
    await mapLimited(resources, concurrency, (r) => custom.create(r));
    const ms = performance.now() - t0;
    if ((await custom.list(ns)).length !== N) throw new Error('baseline loop: wrong count');
    await deleteNamespace(kc, ns);
    return ms;
  };
  const seq = await loop(1);
  const c32 = await loop(32);
  const c32ka = await loop(32, true);

  const ns = await createNamespace(kc, 'ba-adapter');
  const config = operatorConfig(rawConfig(ns, core));
  setLogSink(() => undefined);
  const op = await startOperator({ config, kc, reconcile: false });
  const body = { items: jobIds.map((id) => simpleJob(id)) };
  const token = await core.signCoreToken();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await core.callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, body, { token });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await op.stop();
  if (res.status !== 200) throw new Error(`adapter bulk create answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  const count = (await custom.list(ns)).length;
  if (count !== N) throw new Error(`adapter bulk create: ${count} UCloudJobs, expected ${N}`);
  await deleteNamespace(kc, ns);
  record({
    id: 'a1',
    name: `adapter bulk create of ${N} jobs, time until all UCloudJobs exist`,
    value: ms,
    unit: 'ms',
    baseline: c32,
    baselineName: "client-node loop, 32 in flight (the adapter's concurrency)",
    target: '<= 1.2x',
    detail: { sequentialLoopMs: seq, ratioVsSequential: ms / seq, concurrentLoopMs: c32, keepAliveLoopMs: c32ka, ratioVsKeepAliveLoop: ms / c32ka },
  });
  figures[figures.length - 1]!.met = (figures[figures.length - 1]!.ratio ?? 99) <= 1.2;
  record({
    id: 'a2',
    name: 'adapter CPU per job (validate + translate + write, in-process)',
    value: (cpu.user + cpu.system) / 1000 / N,
    unit: 'ms CPU/job',
    detail: { totalCpuMs: (cpu.user + cpu.system) / 1000, wallMs: ms },
  });
}

// --- (g) create latency under load ------------------------------------------------------------
/**
 * core2 creates one job per call and gives up after 5 s, deleting the job (jobCreateThroughProvider,
 * providerClient): a create must answer well inside that while the operator is busy. The operator
 * runs as a process with its reconciler; the baseline is the latency of creates into it while it is
 * idle, one at a time; the figure is the latency of N creates arriving 32 at a time, while it
 * reconciles, starts pods for and reports the ones before.
 */
async function benchCreateLatency(kc: KubeConfig, core: UCloudCoreEmulator): Promise<void> {
  const ns = await createNamespace(kc, 'bg-create');
  const raw = rawConfig(ns, core);
  const op = await startOperatorProcess(raw, resolve(CLUSTER_DIR, `bench-operator-${ns}.log`), ports());
  const create = async (id: string): Promise<number> => {
    const t0 = performance.now();
    const res = await core.callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, { items: [simpleJob(id)] });
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`create of ${id} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
    return ms;
  };
  try {
    const idle: number[] = [];
    for (const id of ids(600000, 50)) {
      idle.push(await create(id));
      await sleep(20);
    }
    await waitUntil(() => ids(600000, 50).every((id) => core.jobStates(id).includes('RUNNING')), 'the baseline jobs RUNNING', TIMEOUT, 250);
    const loadIds = ids(610000, N);
    const t0 = performance.now();
    const loaded = await mapLimited(loadIds, 32, create);
    const wallMs = performance.now() - t0;
    await waitUntil(() => loadIds.every((id) => core.jobStates(id).includes('RUNNING')), 'the loaded jobs RUNNING', TIMEOUT, 250);
    const p = (xs: number[], q: number) => percentile(xs, q);
    const ours = new Set([...ids(600000, 50), ...loadIds]);
    const gaveUp = core.deletedJobs.filter((d) => ours.has(d.id)).length;
    record({
      id: 'h1',
      name: `create latency p99, ${N} one-job creates 32 at a time while the operator reconciles and reports them`,
      value: p(loaded, 99),
      unit: 'ms',
      baseline: p(idle, 99),
      baselineName: 'create latency p99 into the same idle operator, one at a time (50 creates)',
      target: '<= 1000 ms (Core gives up after 5000 ms)',
      met: p(loaded, 99) <= 1000 && gaveUp === 0,
      detail: {
        p50: p(loaded, 50),
        p90: p(loaded, 90),
        max: Math.max(...loaded),
        idleP50: p(idle, 50),
        idleMax: Math.max(...idle),
        p50Ratio: p(loaded, 50) / p(idle, 50),
        createsPerSecond: (N / wallMs) * 1000,
        coreGaveUp: gaveUp,
      },
    });
  } finally {
    op.child.kill('SIGTERM');
    await op.exited;
    await deleteNamespace(kc, ns);
  }
}

// --- (b) reconcile throughput ---------------------------------------------------------------
interface ChildrenWatch {
  counters: WatchCounter[];
  stop(): void;
  done(jobs: number, pods: number): boolean;
}
async function watchChildren(kc: KubeConfig, ns: string): Promise<ChildrenWatch> {
  const paths = ['configmaps', 'services', 'pods'].map((k) => `/api/v1/namespaces/${ns}/${k}`);
  paths.push(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`);
  const counters = paths.map((p) => new WatchCounter(kc, p));
  await Promise.all(counters.map((c) => c.start()));
  const [cms, svcs, pods, nps] = counters as [WatchCounter, WatchCounter, WatchCounter, WatchCounter];
  // The namespace's kube-root-ca.crt ConfigMap is not ours.
  const ours = (c: WatchCounter) => [...c.seen.keys()].filter((n) => n.startsWith('j-')).length;
  return {
    counters,
    stop: () => counters.forEach((c) => c.stop()),
    done: (jobs, podCount) => ours(cms) >= jobs && ours(svcs) >= jobs && ours(nps) >= jobs && ours(pods) >= podCount,
  };
}

/** The same objects the reconciler makes, by a plain loop (`workers` jobs at a time, each in order). */
async function plainChildren(kc: KubeConfig, jobs: UCloudJob[], config: OperatorConfig, workers: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  await mapLimited(jobs, workers, async (job) => {
    const namespace = job.metadata.namespace!;
    await core.createNamespacedConfigMap({ namespace, body: configMap(job, config) });
    await core.createNamespacedService({ namespace, body: headlessService(job, config) });
    await net.createNamespacedNetworkPolicy({ namespace, body: networkPolicyFor(job, config, []) });
    for (let r = 0; r < job.spec.replicas; r++) await core.createNamespacedPod({ namespace, body: buildPod(job, r, config) });
  });
}

interface RunningSet {
  ns: string;
  /** When the bench's own pod watch first saw each pod Running (the start-up wave's c4 clock). */
  podRunningAt: (podName: string) => number | undefined;
  raw: Record<string, unknown>;
  jobIds: string[];
  op: OperatorProcess;
  logFile: string;
}

async function benchReconcile(
  kc: KubeConfig,
  core: UCloudCoreEmulator,
  replicas: number,
  count: number,
  idBase: number,
  keep: boolean,
): Promise<RunningSet | undefined> {
  const custom = customApi(kc);
  const jobIds = ids(idBase, count);
  const pods = count * replicas;
  const workers = 4;

  // Without b in BENCH_ONLY (e.g. BENCH_ONLY=e,f at 10,000 jobs) the two baseline loops are
  // skipped: they take twice the operator's time and only b1/b2 need them.
  const withBaselines = ONLY.has('b');
  let baseMs = NaN;
  let kaMs = NaN;
  let baseWrites: Record<string, number> = {};
  if (withBaselines) {
    // Baseline: same UCloudJobs (owners of the children), then the children by a plain loop.
    const nsBase = await createNamespace(kc, `bb-loop${replicas}`);
    const configBase = operatorConfig(rawConfig(nsBase, core));
    const created = await mapLimited(jobIds, 32, (id) => custom.create(simpleResource(id, configBase, replicas)));
    const wBase = await watchChildren(kc, nsBase);
    const w0 = await apiserverWrites();
    const t0 = performance.now();
    await plainChildren(kc, created, configBase, workers);
    await waitUntil(() => wBase.done(count, pods), 'baseline children', TIMEOUT, 100);
    baseMs = performance.now() - t0;
    baseWrites = writesDelta(w0, await apiserverWrites());
    wBase.stop();
    await deleteNamespace(kc, nsBase);

    // A second baseline: the same loop over one keep-alive connection pool (what the operator's
    // port does), which isolates the cost of the operator's extra writes from connection set-up.
    const nsKa = await createNamespace(kc, `bb-loopka${replicas}`);
    const configKa = operatorConfig(rawConfig(nsKa, core));
    const createdKa = await mapLimited(jobIds, 32, (id) => custom.create(simpleResource(id, configKa, replicas)));
    const wKa = await watchChildren(kc, nsKa);
    const tk = performance.now();
    await plainChildren(withKeepAlive(kc), createdKa, configKa, workers);
    await waitUntil(() => wKa.done(count, pods), 'keep-alive baseline children', TIMEOUT, 100);
    kaMs = performance.now() - tk;
    wKa.stop();
    await deleteNamespace(kc, nsKa);
  }

  // The operator: the same UCloudJobs exist when it starts; time from its start until every child exists.
  const ns = await createNamespace(kc, `bb-op${replicas}`);
  // The production accounting interval (60 s), with 50 ms price minutes so every pass charges.
  const raw = rawConfig(ns, core, { accounting: { intervalSeconds: Number(process.env.BENCH_ACCOUNTING_SECONDS ?? 60), minuteMillis: 50 } });
  const config = operatorConfig(raw);
  // Written behind the adapter, as jobs UCloud/Core created (it refuses reports of others).
  core.registerJobs(jobIds);
  await mapLimited(jobIds, 32, (id) => custom.create(simpleResource(id, config, replicas)));
  const w = await watchChildren(kc, ns);
  const logFile = resolve(CLUSTER_DIR, `bench-operator-${ns}.log`);
  const w1 = await apiserverWrites();
  const t1 = performance.now();
  const op = await startOperatorProcess(raw, logFile, ports());
  const readyMs = performance.now() - t1;
  const cpu0 = procSample(op.pid).cpuSeconds;
  await waitUntil(() => w.done(count, pods), 'operator children', TIMEOUT, 100);
  const opMs = performance.now() - t1;
  const cpu = procSample(op.pid).cpuSeconds - cpu0;
  const opWrites = writesDelta(w1, await apiserverWrites());
  const opMetrics = await operatorMetrics(op.probeUrl).catch(() => ({}));
  // The pod watch stays until every job is RUNNING at Core: c4 reads when each pod went Running.
  const [cmW, svcW, podW, npW] = w.counters as [WatchCounter, WatchCounter, WatchCounter, WatchCounter];
  for (const c of [cmW, svcW, npW]) c.stop();
  record({
    id: replicas === 1 ? 'b1' : 'b2',
    name: `reconcile ${count} ${replicas}-rank jobs: operator start -> every ConfigMap, Service, NetworkPolicy, pod exists`,
    value: opMs,
    unit: 'ms',
    ...(withBaselines ? { baseline: baseMs, baselineName: `client-node loop creating the same ${count * 3 + pods} objects, ${workers} jobs at a time` } : {}),
    target: withBaselines ? '<= 1.3x' : 'no baseline (BENCH_ONLY without b)',
    detail: {
      keepAliveLoopMs: kaMs,
      ratioVsKeepAliveLoop: opMs / kaMs,
      operatorStartToReadyMs: readyMs,
      fromReadyMs: opMs - readyMs,
      ratioFromReady: (opMs - readyMs) / baseMs,
      operatorCpuSeconds: cpu,
      objects: count * 3 + pods,
      apiserverWrites: { baseline: baseWrites, operator: opWrites },
      operatorMetrics: opMetrics,
    },
  });
  if (withBaselines) figures[figures.length - 1]!.met = (figures[figures.length - 1]!.ratio ?? 99) <= 1.3;

  // Every job RUNNING at the emulator (the reporter's end of the same work).
  const t2 = performance.now();
  await waitUntil(() => jobIds.every((id) => core.jobStates(id).includes('RUNNING')), 'every job RUNNING at UCloud/Core', TIMEOUT, 250);
  log(
    `all ${count} jobs RUNNING at the emulator ${(performance.now() - t1).toFixed(0)} ms after start (${(performance.now() - t2).toFixed(0)} ms after the last child)`,
  );
  podW.stop();
  if (keep) return { ns, raw, jobIds, op, logFile, podRunningAt: (name) => podW.phaseAt.get(name)?.get('Running') };
  op.child.kill('SIGTERM');
  await op.exited;
  await deleteNamespace(kc, ns);
  return undefined;
}

// --- (c) state-report latency, (d) control-API efficiency --------------------------------------
/** Until the operator's work queue is empty (the start-up burst of a phase is over). */
async function queueDrained(probeUrl: string): Promise<number> {
  const t0 = performance.now();
  await waitUntil(
    async () => (await operatorMetrics(probeUrl).catch(() => ({}) as Record<string, number>))['workqueue_depth{name="ucloudjob"}'] === 0,
    'the work queue to drain',
    TIMEOUT,
    250,
  );
  return performance.now() - t0;
}

/**
 * Report latency of `sample`'s exits. `burst`: sampled the moment every job is RUNNING at Core,
 * while the start-up burst's acknowledgements and kwok's readiness updates are still being worked
 * off (before the reporter wrote `Reported` itself, the first tenth of these waited ~3 s: p99
 * 3.3-4.3 s in three runs); otherwise once the work queue has drained (steady state).
 */
async function benchLatency(kc: KubeConfig, core: UCloudCoreEmulator, set: RunningSet, sample: string[], burst: boolean): Promise<void> {
  const waitedForQueueMs = burst ? 0 : await queueDrained(set.op.probeUrl);
  const podsWatch = new WatchCounter(kc, `/api/v1/namespaces/${set.ns}/pods`);
  await podsWatch.start();
  await sleep(500);
  const patchedAt = new Map<string, number>();
  const { setHeaderOptions, PatchStrategy } = await import('@kubernetes/client-node');
  const api = kc.makeApiClient(CoreV1Api);
  for (const id of sample) {
    patchedAt.set(id, Date.now());
    await api.patchNamespacedPod(
      { name: `j-${id}-0`, namespace: set.ns, body: { metadata: { annotations: { [EXIT_AFTER]: '0s', [EXIT_CODE]: '0' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await sleep(50);
  }
  await waitUntil(() => sample.every((id) => core.jobStates(id).includes('SUCCESS')), 'SUCCESS of the sampled jobs', TIMEOUT, 100);
  podsWatch.stop();
  const opLat: number[] = [];
  const apiLat: number[] = [];
  const perJob: Array<{ id: string; succeededAt: number; reportedMs: number }> = [];
  for (const id of sample) {
    const phaseAt = podsWatch.phaseAt.get(`j-${id}-0`)?.get('Succeeded');
    const reported = core.updates.find((u) => u.id === id && u.update.state === 'SUCCESS')?.at;
    if (phaseAt === undefined || reported === undefined) continue;
    perJob.push({ id, succeededAt: phaseAt, reportedMs: reported - phaseAt });
    opLat.push(reported - phaseAt);
    apiLat.push(phaseAt - patchedAt.get(id)!);
  }
  const p50 = percentile(opLat, 50);
  const p99 = percentile(opLat, 99);
  const p99Figure = (id: string, name: string, detail: Record<string, unknown>): void =>
    record({
      id,
      name,
      value: p99,
      unit: 'ms',
      baseline: percentile(apiLat, 99),
      baselineName: 'p99 of patch -> Succeeded seen by a watch',
      target: 'p99 <= 1000 ms',
      met: p99 <= 1000,
      detail,
    });
  if (burst) {
    const name = `state-report latency p99 during the start-up burst (${sample.length} exits sampled as the last of ${set.jobIds.length} jobs went RUNNING at Core)`;
    return p99Figure('c3', name, { p50, max: Math.max(...opLat), samples: opLat.length, perJob });
  }
  record({
    id: 'c1',
    name: `state-report latency p50, pod Succeeded (watch) -> update at UCloud/Core, ${sample.length} of ${set.jobIds.length} running jobs`,
    value: p50,
    unit: 'ms',
    baseline: percentile(apiLat, 50),
    baselineName: 'p50 of exit annotation patch -> Succeeded seen by a watch (apiserver + kwok)',
    detail: { samples: opLat.length, waitedForQueueMs, operatorMetrics: await operatorMetrics(set.op.probeUrl).catch(() => ({})) },
  });
  p99Figure('c2', 'state-report latency p99', { max: Math.max(...opLat), min: Math.min(...opLat), perJob });
}

/** chargeCredits calls grouped into accounting passes: the calls of one pass come within 1.5 s of each other. */
function accountingPasses(core: UCloudCoreEmulator): Array<{ calls: number; items: number }> {
  const passes: Array<{ calls: number; items: number }> = [];
  let last = -Infinity;
  for (const c of core.calls.filter((c) => c.path.endsWith('/control/chargeCredits'))) {
    if (c.at - last > 1500) passes.push({ calls: 0, items: 0 });
    passes[passes.length - 1]!.calls++;
    passes[passes.length - 1]!.items += c.items;
    last = c.at;
  }
  return passes;
}

/**
 * d1 over the start-up wave only (every update call up to `until`, when the last job was RUNNING at
 * Core and before c's sampled exits, which come one every ~85 ms and are sent alone by design).
 */
function benchControlCalls(
  core: UCloudCoreEmulator,
  jobIds: string[],
  until: number,
  podRunningAt: RunningSet['podRunningAt'],
  raw: Record<string, unknown>,
): void {
  const idSet = new Set(jobIds);
  const wave = core.updates.filter((u) => idSet.has(u.id) && u.at <= until);
  const changes = wave.filter((u) => u.update.state !== undefined).length;
  const waveCalls = core.calls.filter((c) => c.path.endsWith('/control/update') && c.at <= until);
  const updateCalls = waveCalls.length;
  const updateItems = wave.length;
  // What bounds d1: changes arriving at `rate` per second, sent once per reporter cycle (the
  // window, src/controller/batch-window.ts, then the call), give rate x cycle items per call.
  // <= 20 calls per 1,000 changes needs >= 50 items per call.
  const ats = wave.map((u) => u.at);
  const spreadSeconds = ats.length > 1 ? (Math.max(...ats) - Math.min(...ats)) / 1000 : 0;
  const arrivalPerSecond = spreadSeconds > 0 ? changes / spreadSeconds : Infinity;
  // c4: each job's RUNNING from its pod turning Running (the bench's watch) to Core receiving it,
  // during the wave d1 counts: what the widened window costs in latency.
  const firstRunningAt = new Map<string, number>();
  for (const u of wave) if (u.update.state === 'RUNNING' && !firstRunningAt.has(u.id)) firstRunningAt.set(u.id, u.at);
  const waveLat = jobIds
    .map((id) => {
      const seen = podRunningAt(`j-${id}-0`);
      const at = firstRunningAt.get(id);
      return seen !== undefined && at !== undefined ? Math.max(0, at - seen) : undefined;
    })
    .filter((x): x is number => x !== undefined);
  const budget = operatorConfig(raw).reporting.maxBatchDelayMs;
  const waveP99 = percentile(waveLat, 99);
  record({
    id: 'c4',
    name: `state-report latency p99 during the start-up wave (pod Running seen by a watch -> RUNNING at UCloud/Core, ${waveLat.length} of ${jobIds.length} jobs)`,
    value: waveP99,
    unit: 'ms',
    baseline: budget,
    baselineName: "the reporter's latency budget (reporting.maxBatchDelayMs)",
    target: 'p99 <= 1000 ms',
    met: waveP99 <= 1000,
    detail: { p50: percentile(waveLat, 50), max: Math.max(...waveLat), samples: waveLat.length },
  });
  // The target holds "whenever changes arrive faster than one per window" (the reporter's base
  // window, reporting.batchWindowMs): slower, each change goes out after that window, by design
  // (src/controller/batch-window.ts), and <= 20 calls per 1,000 would need windows of 50 changes,
  // far past the latency budget. So the wave's own pace (pods turning Running, as a watch saw them)
  // says whether the target applies.
  const runningAts = jobIds.map((id) => podRunningAt(`j-${id}-0`)).filter((x): x is number => x !== undefined);
  const runningSpread = runningAts.length > 1 ? (Math.max(...runningAts) - Math.min(...runningAts)) / 1000 : 0;
  const podsRunningPerSecond = runningSpread > 0 ? runningAts.length / runningSpread : Infinity;
  const baseWindowMs = operatorConfig(raw).reporting.batchWindowMs;
  const applies = podsRunningPerSecond * (baseWindowMs / 1000) > 1;
  record({
    id: 'd1',
    name: `JobsControl.update calls per 1,000 state changes (${changes} changes of ${jobIds.length} jobs, pods Running at ${podsRunningPerSecond.toFixed(1)}/s)`,
    value: (updateCalls / changes) * 1000,
    unit: 'calls',
    baseline: 1000,
    baselineName: 'one call per change (no batching)',
    target: `<= 20 when > 1 change per ${baseWindowMs} ms window`,
    // Not applicable (blank) when the wave came slower than one change per base window.
    ...(applies ? { met: (updateCalls / changes) * 1000 <= 20 } : {}),
    detail: {
      podsRunningPerSecond,
      targetApplies: applies,
      updateCalls,
      updateItems,
      stateChanges: changes,
      itemsPerCall: updateItems / Math.max(1, updateCalls),
      reportedOverSeconds: spreadSeconds,
      changesPerSecond: arrivalPerSecond,
      cycleNeededForTargetMs: (50 / arrivalPerSecond) * 1000,
      // Each call of the wave: ms after the wave's first, items carried (how the windows closed).
      calls: waveCalls.map((c) => [c.at - (waveCalls[0]?.at ?? 0), c.items]),
    },
  });
  const charges = core.calls.filter((c) => c.path.endsWith('/control/chargeCredits'));
  const passes = accountingPasses(core);
  // The largest pass seen (a periodic pass over every running job; passes triggered by a job
  // ending carry only that job's last window).
  const items = charges.reduce((s, c) => s + c.items, 0);
  const full = passes.length ? passes.reduce((m, p) => (p.items > m.items ? p : m)) : { calls: NaN, items: 0 };
  const perPass = full.calls;
  record({
    id: 'd2',
    name: `JobsControl.chargeCredits calls in the largest accounting pass (${full.items} windows of ${jobIds.length} running jobs)`,
    value: perPass,
    unit: 'calls',
    baseline: Math.ceil(jobIds.length / 1000),
    baselineName: 'ceil(jobs / 1000): the bulk limit',
    target: '<= 10 (10,000 jobs)',
    met: perPass <= Math.max(1, Math.ceil(jobIds.length / 1000)),
    detail: { passes: passes.length, chargeCalls: charges.length, chargedWindows: items },
  });
}

// --- (e) RSS and idle CPU, (f) recovery -------------------------------------------------------
async function startBaselineInformer(ns: string): Promise<{ pid: number; syncedMs: number; kill(): Promise<void> }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [resolve(BUILD_DIR, 'bench/baseline-informer.js'), resolve(CLUSTER_DIR, 'kubeconfig'), ns], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const syncedMs = await new Promise<number>((res, rej) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('synced')) res(performance.now() - t0);
    });
    child.once('exit', (code) => rej(new Error(`baseline informer exited ${code}`)));
  });
  return {
    pid: child.pid!,
    syncedMs,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function idle(pid: number): Promise<{ rssMb: number; cpuPercent: number }> {
  const a = procSample(pid);
  const t = performance.now();
  await sleep(IDLE_SECONDS * 1000);
  const b = procSample(pid);
  return { rssMb: b.rssBytes / 2 ** 20, cpuPercent: ((b.cpuSeconds - a.cpuSeconds) / ((performance.now() - t) / 1000)) * 100 };
}

function matches(core: UCloudCoreEmulator, id: string, want: string): boolean {
  const s = core.jobStates(id);
  return s[s.length - 1] === want;
}

/**
 * What bounds f1: every 2 s, the operator's apiserver writes so far by verb, the final states Core
 * has, the reconciles so far, and the CPU (% of a core) each of operator, kube-apiserver, etcd and
 * kwok used in those 2 s: whether the final states went at the apiserver's pace, and who had the cores.
 */
function recoveryTimeline(op: { pid: number; probeUrl: string }, core: UCloudCoreEmulator, ending: readonly string[], t0: number) {
  const samples: Array<Record<string, number>> = [];
  const cpuNow = () => {
    const pids: Record<string, number | undefined> = { operator: op.pid, ...clusterPids(['kube-apiserver', 'etcd', 'kwok']) };
    return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOf(pid)]));
  };
  let last = { at: performance.now(), cpu: cpuNow() };
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = cpuNow();
    const sample: Record<string, number> = { s: Math.round(now - t0) / 1000, final: ending.filter((id) => matches(core, id, 'SUCCESS')).length };
    for (const [k, v] of Object.entries(cpu)) {
      const before = last.cpu[k];
      if (v !== undefined && before !== undefined) sample[`cpu_${k}`] = Math.round(((v - before) / ((now - last.at) / 1000)) * 100);
    }
    last = { at: now, cpu };
    void operatorMetrics(op.probeUrl)
      .then((m) => {
        for (const [k, v] of Object.entries(m)) {
          const verb = /^rest_client_requests_total\{.*method="(\w+)"/.exec(k)?.[1];
          if (verb && verb !== 'GET') sample[verb] = (sample[verb] ?? 0) + v;
        }
        sample.reconciles = m['controller_runtime_reconcile_time_seconds_count{controller="ucloudjob"}'] ?? NaN;
        sample.reconcileSeconds = m['controller_runtime_reconcile_time_seconds_sum{controller="ucloudjob"}'] ?? NaN;
        samples.push(sample);
      })
      .catch(() => undefined);
  }, 2000);
  return { samples, stop: () => clearInterval(timer) };
}

async function benchRecoveryAndScale(kc: KubeConfig, core: UCloudCoreEmulator, set: RunningSet, finished: Set<string>): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  const { setHeaderOptions, PatchStrategy } = await import('@kubernetes/client-node');
  // (f) SIGKILL with every job in flight; while it is down, a tenth of the running jobs end.
  set.op.child.kill('SIGKILL');
  await set.op.exited;
  const running = set.jobIds.filter((id) => !finished.has(id));
  const ending = running.filter((_, i) => i % 10 === 0);
  await mapLimited(ending, 16, (id) =>
    api.patchNamespacedPod(
      { name: `j-${id}-0`, namespace: set.ns, body: { metadata: { annotations: { [EXIT_AFTER]: '0s', [EXIT_CODE]: '0' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
  // Wait until kwok has ended those pods, so the clock measures the operator, not kwok.
  await waitUntil(
    async () => {
      const pods = await api.listNamespacedPod({ namespace: set.ns, resourceVersion: '0' });
      const done = new Set(pods.items.filter((p) => p.status?.phase === 'Succeeded').map((p) => p.metadata!.name!));
      return ending.every((id) => done.has(`j-${id}-0`));
    },
    'the pods to end',
    TIMEOUT,
    500,
  );
  const raw = { ...set.raw, accounting: { intervalSeconds: 60 } };
  const callsBefore = core.calls.length;
  const t0 = performance.now();
  const op = await startOperatorProcess(raw, set.logFile, ports());
  const readyMs = performance.now() - t0;
  const endingSet = new Set(ending);
  const staying = running.filter((id) => !endingSet.has(id));
  const timeline = recoveryTimeline(op, core, ending, t0);
  await waitUntil(
    () => ending.every((id) => matches(core, id, 'SUCCESS')) && staying.every((id) => matches(core, id, 'RUNNING')),
    'reported states to match the pods again',
    TIMEOUT,
    100,
  ).finally(() => timeline.stop());
  const recoverMs = performance.now() - t0;
  // d1 for a burst: the changes of the jobs that ended while the operator was down all arrive at once.
  const burstCalls = core.calls.slice(callsBefore).filter((c) => c.path.endsWith('/control/update'));
  const burstChanges = ending.length;
  record({
    id: 'd1b',
    name: `JobsControl.update calls per 1,000 state changes, burst (${burstChanges} jobs ended while the operator was down)`,
    value: (burstCalls.length / burstChanges) * 1000,
    unit: 'calls',
    baseline: 1000,
    baselineName: 'one call per change (no batching)',
    target: '<= 20',
    met: (burstCalls.length / burstChanges) * 1000 <= 20,
    detail: { updateCalls: burstCalls.length, items: burstCalls.reduce((n, c) => n + c.items, 0), stateChanges: burstChanges },
  });
  const base = await startBaselineInformer(set.ns);
  record({
    id: 'f1',
    name: `recovery after SIGKILL, ${set.jobIds.length} jobs (${ending.length} ended while down): restart -> every reported state matches its pods`,
    value: recoverMs,
    unit: 'ms',
    baseline: base.syncedMs,
    baselineName: 'plain client-node informer process: start -> UCloudJob and pod caches synced',
    target: '<= 30 s (5,000 jobs)',
    met: recoverMs <= 30_000,
    detail: { operatorStartToReadyMs: readyMs, timeline: timeline.samples, operatorMetrics: await operatorMetrics(op.probeUrl).catch(() => ({})) },
  });

  // (e) with every job and pod cached, nothing changing: once the restart's pass over every job
  // (and the teardowns of the jobs that ended) has drained the work queue.
  await queueDrained(op.probeUrl);
  const drainedAfterRestartMs = performance.now() - t0;
  log(`work queue drained ${(drainedAfterRestartMs / 1000).toFixed(1)} s after the restart`);
  // The ended jobs' teardowns wait for their reports and for other jobs' status writes (at most
  // 60 s, src/controller/teardown-timing.ts): "nothing changing" begins once their pods are gone.
  await waitUntil(
    async () => {
      const pods = await api.listNamespacedPod({ namespace: set.ns, resourceVersion: '0' });
      const names = new Set(pods.items.map((p) => p.metadata!.name!));
      return ending.every((id) => !names.has(`j-${id}-0`));
    },
    'the ended jobs to be torn down',
    TIMEOUT,
    1000,
  );
  const tornDownAfterRestartMs = performance.now() - t0;
  log(`ended jobs torn down ${(tornDownAfterRestartMs / 1000).toFixed(1)} s after the restart`);
  await sleep(3000);
  const [opIdle, baseIdle] = await Promise.all([idle(op.pid), idle(base.pid)]);
  record({
    id: 'e1',
    name: `operator RSS with ${set.jobIds.length} UCloudJobs and their pods cached`,
    value: opIdle.rssMb,
    unit: 'MiB',
    baseline: baseIdle.rssMb,
    baselineName: 'plain client-node informers of the same objects',
    target: '<= 300 MiB (10,000 jobs)',
    met: opIdle.rssMb <= 300,
    detail: {
      queueDrainedAfterRestartMs: drainedAfterRestartMs,
      endedTornDownAfterRestartMs: tornDownAfterRestartMs,
      runtimeEnv: siteRuntimeEnv(),
      operatorMetrics: await operatorMetrics(op.probeUrl).catch(() => ({})),
    },
  });
  record({
    id: 'e2',
    name: `operator idle CPU over ${IDLE_SECONDS} s`,
    value: opIdle.cpuPercent,
    unit: '% of a core',
    baseline: baseIdle.cpuPercent,
    baselineName: 'plain client-node informers',
    target: '~0',
    met: opIdle.cpuPercent < 2,
  });
  await base.kill();
  op.child.kill('SIGTERM');
  await op.exited;
}

// --- main -----------------------------------------------------------------------------------
function table(): string {
  const rows = figures.map((f) => [
    f.id,
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline !== undefined ? `${fmt(f.baseline)}` : '',
    f.ratio !== undefined ? `${fmt(f.ratio)}x` : '',
    f.target ?? '',
    f.met === undefined ? '' : f.met ? 'met' : 'MISSED',
  ]);
  const head = ['id', 'figure', 'value', 'baseline', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.min(i === 1 ? 90 : 40, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

// --- (g) pod start latency on a real node (bench/real-node-start.ts) --------------------------
async function benchRealNode(kc: KubeConfig, core: UCloudCoreEmulator): Promise<void> {
  const samples = Number(process.env.BENCH_REAL_SAMPLES ?? Math.max(10, Math.round(20 * SCALE)));
  core.reset();
  const r = await benchRealNodeStart(kc, core, samples, resolve(REPO, '.cluster'));
  if (!r) {
    log(`g skipped: the cluster has no real node (${clusterEnv().REAL_NODES_SKIPPED ?? 'started without --real-nodes'})`);
    return;
  }
  const detail = { samples: r.samples, operatorMs: r.operatorMs, bareMs: r.bareMs };
  record({
    id: 'g1',
    name: 'real-node pod start p50 (create call -> container running), operator path',
    value: r.p50.operator,
    unit: 'ms',
    baseline: r.p50.bare,
    baselineName: 'bare pod, plain client',
    target: 'report',
    detail,
  });
  record({
    id: 'g2',
    name: 'real-node pod start p99, operator path',
    value: r.p99.operator,
    unit: 'ms',
    baseline: r.p99.bare,
    baselineName: 'bare pod, plain client',
    target: 'report',
  });
}

// --- (i) gang admission: drain four-rank jobs through room for four (docs/adr/0025) -----------
async function benchGangDrain(kc: KubeConfig, core: UCloudCoreEmulator): Promise<void> {
  const n = Math.max(8, Math.round(100 * SCALE));
  core.reset();
  const native = await drain(kc, core, 'native', n, 400000);
  core.reset();
  const none = await drain(kc, core, 'none', n, 500000);
  const detail = (r: typeof native) => ({
    jobs: r.jobs,
    drainMs: r.drainMs,
    idealMs: r.idealMs,
    succeeded: r.succeeded,
    failed: r.failed,
    partialGangNodeSeconds: r.partialNodeSeconds,
    samples: r.samples,
  });
  record({
    id: 'i1',
    name: `drain ${n} four-rank jobs through room for 4, native gang backend: time / ideal (sum of runtimes / 4)`,
    value: native.drainMs,
    unit: 'ms',
    baseline: native.idealMs,
    baselineName: 'ideal: sum of runtimes / parallelism',
    target: 'report; every job SUCCESS, 0 partial-gang node-seconds',
    met: native.succeeded === n && native.partialNodeSeconds === 0,
    detail: detail(native),
  });
  record({
    id: 'i2',
    name: `the same load with backend none: time / ideal (jobs that failed, partial-gang node-seconds in detail)`,
    value: none.drainMs,
    unit: 'ms',
    baseline: none.idealMs,
    baselineName: 'ideal: sum of runtimes / parallelism',
    target: 'report (the comparison)',
    detail: detail(none),
  });
}

async function main(): Promise<void> {
  const started = new Date();
  const kc = kubeConfig();
  const core = await UCloudCoreEmulator.start({ providerId: 'bench' });
  log(
    `BENCH_SCALE=${SCALE}: ${N} single-rank jobs, ${N8} eight-rank jobs; cluster ${CLUSTER_DIR}; ${cpus().length} cpus, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  try {
    if (ONLY.has('a')) await benchAdapter(kc, core);
    if (ONLY.has('h')) await benchCreateLatency(kc, core);
    if (ONLY.has('b') && !['c', 'd', 'e', 'f'].some((x) => ONLY.has(x))) {
      await benchReconcile(kc, core, 1, N, 200000, false);
    }
    if (['c', 'd', 'e', 'f'].some((x) => ONLY.has(x))) {
      core.reset();
      const set = (await benchReconcile(kc, core, 1, N, 200000, true))!;
      // 100 jobs (or a tenth), spread over the set.
      const step = Math.max(1, Math.floor(N / Math.min(100, Math.max(5, N / 10))));
      const sample = set.jobIds.filter((_, i) => i % step === step - 1).slice(0, 100);
      // c3's exits: the same number, from other jobs (the ones just before c1/c2's in the set).
      const burstSample = ONLY.has('c') ? set.jobIds.filter((_, i) => i % step === step - 2).slice(0, sample.length) : [];
      const waveEnd = Date.now();
      if (burstSample.length) await benchLatency(kc, core, set, burstSample, true);
      if (ONLY.has('c')) await benchLatency(kc, core, set, sample, false);
      if (ONLY.has('d')) {
        // A periodic pass over every running job: due once the first 60 s window of the last job to start is complete.
        const exited = new Set([...burstSample, ...(ONLY.has('c') ? sample : [])]);
        const running = set.jobIds.length - exited.size;
        await waitUntil(() => accountingPasses(core).some((p) => p.items >= running * 0.9), 'a full accounting pass', 240_000, 500);
        await sleep(3000);
        benchControlCalls(core, set.jobIds, waveEnd, set.podRunningAt, set.raw);
      }
      if (ONLY.has('e') || ONLY.has('f')) await benchRecoveryAndScale(kc, core, set, new Set([...burstSample, ...(ONLY.has('c') ? sample : [])]));
      else {
        set.op.child.kill('SIGTERM');
        await set.op.exited;
      }
      // Waited for only if a later phase shares the cluster: 10,000 jobs take minutes to go, and
      // the cluster is torn down after the last phase anyway.
      await deleteNamespace(
        kc,
        set.ns,
        ['b', 'g', 'i'].some((x) => ONLY.has(x)),
      );
    }
    if (ONLY.has('b')) await benchReconcile(kc, core, 8, N8, 300000, false);
    if (ONLY.has('g')) await benchRealNode(kc, core);
    if (ONLY.has('i')) await benchGangDrain(kc, core);
  } finally {
    await core.close();
  }
  const out = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    scale: SCALE,
    jobs: N,
    eightRankJobs: N8,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg() },
    cluster: CLUSTER_DIR,
    figures,
  };
  const dir = resolve(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`\n${table()}\n\nresults: ${file}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`benchmark failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
