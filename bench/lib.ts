// Shared pieces of the benchmarks (bench/run.ts) and the chaos run (bench/chaos.ts): the cluster
// they run on, namespaces, the operator as a child process, /proc sampling, statistics.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import type { UCloudJob } from '../src/api/v1alpha1/ucloudjob.js';
import { parseConfig, type OperatorConfig } from '../src/config.js';
import { jobToResource } from '../src/translate/job-to-spec.js';
import type { Job } from '../src/ucloud/job.js';
import { createReadyNamespace, parseClusterEnv } from '../test/support/cluster-env.js';
import { emulatorConfig } from '../test/support/harness.js';
import { parsedSpecJob } from '../test/support/job-factory.js';
import { launchOperator, type OperatorProcess } from '../test/support/operator-process.js';
import type { UCloudCoreEmulator } from '../test/support/ucloud-core-emulator.js';

export const REPO = resolve(process.env.BENCH_REPO ?? process.cwd());
export const CLUSTER_DIR = resolve(process.env.UCLOUD_TEST_CLUSTER_DIR ?? resolve(REPO, '.cluster/h-bench'));
/** The compiled tree the benchmarks run from (scripts/bench builds it; one level below the root, so main.js finds package.json).
 *  BENCH_BUILD_DIR: another one (the chaos step of `npm test` builds its own, so a concurrent `npm run bench` cannot change it). */
export const BUILD_DIR = resolve(process.env.BENCH_BUILD_DIR ?? resolve(REPO, '.bench-build'));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function clusterEnv(): Record<string, string> {
  return parseClusterEnv(readFileSync(resolve(CLUSTER_DIR, 'cluster.env'), 'utf8'));
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(resolve(CLUSTER_DIR, 'kubeconfig'));
  return kc;
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await createReadyNamespace(kc, name, { 'ucloud.dk/bench': 'true' }, 300);
  return name;
}

/** Deletes a namespace and (unless `wait` is false) waits until it is gone, so the deletion of
 *  one phase's thousands of objects does not load the apiserver during the next phase. */
export async function deleteNamespace(kc: KubeConfig, name: string, wait = true): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
  const deadline = Date.now() + 600_000;
  while (wait && Date.now() < deadline) {
    try {
      await core.readNamespace({ name });
    } catch {
      return;
    }
    await sleep(1000);
  }
}

/** Products of the benchmark cluster (scripts/cluster/nodes.yaml categories). */
export const PRODUCTS = [
  { id: 'example-compute-1', category: 'example-compute', cpu: 1, memoryInGigs: 2, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
  { id: 'u1-standard-1', category: 'u1-standard', cpu: 1, memoryInGigs: 4, gpu: 0, unitOfPrice: 'CREDITS_PER_MINUTE' },
];

/** Raw configuration (as the JSON file main.ts reads) for one namespace and emulator. */
export function rawConfig(ns: string, core: UCloudCoreEmulator, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...emulatorConfig(ns, core),
    products: PRODUCTS,
    // The operator's default worker count unless BENCH_WORKERS says otherwise (to compare counts).
    reconciler: { ...(process.env.BENCH_WORKERS ? { workers: Number(process.env.BENCH_WORKERS) } : {}), resyncSeconds: 300 },
    // The reporter's latency budget (reporting.maxBatchDelayMs) if BENCH_MAX_BATCH_DELAY_MS says (to compare budgets).
    reporting: { batchWindowMs: 50, ...(process.env.BENCH_MAX_BATCH_DELAY_MS ? { maxBatchDelayMs: Number(process.env.BENCH_MAX_BATCH_DELAY_MS) } : {}) },
    accounting: { intervalSeconds: 60 },
    // backend none: figures a-h measure what they measured before gang admission (ADR 0025);
    // figure i compares the backends.
    jobs: { gang: { backend: 'none' }, gangTimeoutSeconds: 3600, unschedulableGraceSeconds: 3600, vanishedPodGraceSeconds: 30 },
    ...extra,
  };
}

export function operatorConfig(raw: Record<string, unknown>): OperatorConfig {
  return parseConfig(raw);
}

/** The spec's "Simple batch Job" as UCloud/Core sends it, with another id (and replicas). */
export function simpleJob(id: string, replicas = 1): Job {
  const job = parsedSpecJob(id);
  job.specification.replicas = replicas;
  if (replicas > 1 && job.status?.resolvedApplication?.invocation) {
    (job.status.resolvedApplication.invocation as { allowMultiNode?: boolean }).allowMultiNode = true;
  }
  return job;
}

/** The UCloudJob the adapter would write for `simpleJob(id, replicas)`. */
export function simpleResource(id: string, config: OperatorConfig, replicas = 1): UCloudJob {
  const job = jobToResource(simpleJob(id, 1), config);
  job.spec.replicas = replicas;
  return job;
}

export type { OperatorProcess } from '../test/support/operator-process.js';

/**
 * Starts the compiled `main.js` (BUILD_DIR) as a child process with a config file next to
 * `logFile`, on fixed ports; resolves when /readyz answers 200. Logs go to `logFile`.
 */
export async function startOperatorProcess(
  raw: Record<string, unknown>,
  logFile: string,
  opts: { adapterPort: number; probePort: number },
): Promise<OperatorProcess> {
  const dir = `${logFile}.d`;
  mkdirSync(dir, { recursive: true });
  return launchOperator({
    main: resolve(BUILD_DIR, 'src/main.js'),
    name: 'operator',
    dir,
    config: { ...raw, http: { host: '127.0.0.1', port: opts.adapterPort, probePort: opts.probePort } },
    kubeconfig: resolve(CLUSTER_DIR, 'kubeconfig'),
    inheritEnv: true,
    // BENCH_OPERATOR_NODE_OPTIONS: e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, added for the operator
    // only (a profile is written when it exits on SIGTERM; a SIGKILLed one writes none).
    env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', ...withOperatorNodeOptions(siteRuntimeEnv()) },
    logFile,
    until: 'ready',
    timeoutMs: 120_000,
  });
}

interface ChartRuntime {
  resources?: { limits?: { memory?: string } };
  runtime: { heapPercentOfLimit: number; maxSemiSpaceMiB: number; mallocArenaMax: number; mallocTrimThresholdBytes: number };
}

/**
 * The heap limits and allocator settings the chart's default values give the operator (its
 * Deployment template renders the same from them), so the benchmarks measure what a site runs
 * (docs/adr/0030-memory-runtime.md). BENCH_RUNTIME=node-defaults measures without them.
 */
/** The site runtime's environment with BENCH_OPERATOR_NODE_OPTIONS added to its NODE_OPTIONS. */
function withOperatorNodeOptions(env: Record<string, string>): Record<string, string> {
  const extra = process.env.BENCH_OPERATOR_NODE_OPTIONS;
  return extra ? { ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} ${extra}`.trim() } : env;
}

export function siteRuntimeEnv(): Record<string, string> {
  if (process.env.BENCH_RUNTIME === 'node-defaults') return {};
  const values = load(readFileSync(resolve(REPO, 'charts/ucloud-operator/values.yaml'), 'utf8')) as ChartRuntime;
  const limit = /^(\d+)(Mi|Gi)$/.exec(values.resources?.limits?.memory ?? '512Mi');
  const limitMiB = limit ? Number(limit[1]) * (limit[2] === 'Gi' ? 1024 : 1) : 512;
  const r = values.runtime;
  const node = `--max-old-space-size=${Math.floor((limitMiB * r.heapPercentOfLimit) / 100)} --max-semi-space-size=${r.maxSemiSpaceMiB}`;
  return {
    // Added to what the bench was given (memory-probe's --heapsnapshot-signal).
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${node}`.trim(),
    ...(r.mallocArenaMax ? { MALLOC_ARENA_MAX: String(r.mallocArenaMax) } : {}),
    ...(r.mallocTrimThresholdBytes ? { MALLOC_TRIM_THRESHOLD_: String(r.mallocTrimThresholdBytes) } : {}),
  };
}

// Below the kernel's ephemeral range (32768-60999), so no client socket holds one; the control
// plane's ports come from the same range, picked free by cluster-up (a clash is unlikely, and
// chaos.ts starts the operator again on the next pair if one happens).
let nextPort = 20000 + Math.floor(Math.random() * 5000) * 2;
/** Two ports for the next operator process. */
export function ports(): { adapterPort: number; probePort: number } {
  nextPort += 2;
  return { adapterPort: nextPort, probePort: nextPort + 1 };
}

const CLK_TCK = 100;
/** CPU seconds (user+system) and RSS bytes of a process, from /proc. */
export function procSample(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is state (field 3); utime is field 14, stime 15.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssBytes: rssKb * 1024 };
}

/** A process's CPU seconds so far; undefined when it is gone (or never was). */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return procSample(pid).cpuSeconds;
  } catch {
    return undefined;
  }
}

/** The pids of the cluster's components (cluster-up writes them to <cluster dir>/pids), where running. */
export function clusterPids(names: readonly string[]): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const name of names) {
    try {
      out[name] = Number(readFileSync(resolve(CLUSTER_DIR, 'pids', `${name}.pid`), 'utf8').trim()) || undefined;
    } catch {
      out[name] = undefined;
    }
  }
  return out;
}

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Polls until probe() is truthy; returns ms waited. Throws after timeoutMs. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, what: string, timeoutMs: number, everyMs = 250): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * kube-apiserver's write counters (apiserver_request_total, verbs POST/PUT/PATCH/DELETE) by
 * `resource[/subresource] VERB`: the evidence of how many writes a phase cost. Other writers
 * share some of them (the scheduler's pods/binding and events, kwok's pods/status).
 */
export async function apiserverWrites(): Promise<Map<string, number>> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const bin = clusterEnv().BIN!;
  const { stdout } = await promisify(execFile)(resolve(bin, 'kubectl'), ['--kubeconfig', resolve(CLUSTER_DIR, 'kubeconfig'), 'get', '--raw', '/metrics'], {
    maxBuffer: 256 * 2 ** 20,
  });
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(labels.verb ?? '')) continue;
    const key = `${labels.resource}${labels.subresource ? '/' + labels.subresource : ''} ${labels.verb}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** after - before, non-zero entries only, largest first. */
export function writesDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const d: Array<[string, number]> = [];
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) d.push([k, v - (before.get(k) ?? 0)]);
  return Object.fromEntries(d.sort((a, b) => b[1] - a[1]));
}

/** The operator's own counters that explain a figure (reconciles, queue, JobsControl calls, V8 heap). */
export async function operatorMetrics(probeUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${probeUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  const wanted =
    /^(controller_runtime_reconcile_total|controller_runtime_reconcile_time_seconds_(sum|count)|workqueue_adds_total|workqueue_retries_total|workqueue_queue_duration_seconds_(sum|count)|workqueue_depth|ucloud_operator_jobs_control_requests_total|ucloud_operator_children_verified_from_cache_total|ucloud_operator_stored_job_reads_total|nodejs_heap_size_(used|total)_bytes|nodejs_external_memory_bytes|rest_client_requests_total|ucloud_operator_events_not_recorded_total)\b/;
  for (const line of text.split('\n')) {
    if (!wanted.test(line)) continue;
    const sp = line.lastIndexOf(' ');
    out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

export function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
