// Helpers for the operations tests: helm and kubectl against the test control plane,
// the built entrypoint (dist/src/main.js) run as a child process, service-account kubeconfigs
// minted with the TokenRequest API, and a Prometheus text-format parser.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseConfig, type OperatorConfig } from '../../src/config.js';
import type { KubePort } from '../../src/k8s/kube-port.js';
import { CLUSTER_DIR, KUBECONFIG_PATH, REPO, clusterEnv } from './cluster-env.js';
import { TEST_PRODUCTS, emulatorConfig } from './harness.js';
import { launchOperator, type OperatorProcess } from './operator-process.js';
import type { UCloudCoreEmulator } from './ucloud-core-emulator.js';

const run = promisify(execFile);

export const CHART_DIR = resolve(REPO, 'charts/ucloud-operator');

function binDir(): string {
  const bin = clusterEnv().BIN;
  if (!bin) throw new Error(`no BIN in ${CLUSTER_DIR}/cluster.env: is the control plane up?`);
  return bin;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool from the cluster's bin dir with the admin kubeconfig; never throws on exit codes. */
export async function tool(name: 'helm' | 'kubectl', args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
  // Helm keeps its cache/config under HOME; give it a private one so parallel runs do not share.
  const helmHome = join(CLUSTER_DIR, 'helm-home');
  try {
    const { stdout, stderr } = await run(join(binDir(), name), args, {
      env: {
        ...process.env,
        KUBECONFIG: KUBECONFIG_PATH,
        HELM_CACHE_HOME: join(helmHome, 'cache'),
        HELM_CONFIG_HOME: join(helmHome, 'config'),
        HELM_DATA_HOME: join(helmHome, 'data'),
        ...env,
      },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

export const helm = (args: string[]) => tool('helm', args);
export const kubectl = (args: string[]) => tool('kubectl', args);

// --- the built entrypoint --------------------------------------------------------------------

function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, p);
    else if (entry.name.endsWith('.ts')) hash.update(p).update(readFileSync(p));
  }
}

/**
 * Compiles src/ (tsconfig.build.json's settings) into a private directory keyed by a hash of the
 * sources, once per content: parallel test files share one build, and nobody else's `npm run build`
 * can change the files under a running child. Returns the path of main.js.
 */
export async function builtEntrypoint(): Promise<string> {
  const hash = createHash('sha256');
  hashTree(hash, resolve(REPO, 'src'));
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) hash.update(readFileSync(resolve(REPO, f)));
  // Laid out like the repository (and the image): ROOT/package.json, ROOT/dist/src/main.js.
  const root = resolve(CLUSTER_DIR, `build-${hash.digest('hex').slice(0, 16)}`);
  const out = join(root, 'dist');
  const main = join(out, 'src/main.js');
  const stamp = join(root, '.built');
  const lock = `${root}.lock`;
  for (let waited = 0; !existsSync(stamp); waited += 250) {
    try {
      mkdirSync(lock);
    } catch {
      // Someone else builds; a lock older than 5 minutes is left over from a killed run.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (waited > 300_000) throw new Error(`timed out waiting for the build in ${out}`);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      mkdirSync(out, { recursive: true });
      const tsconfig = join(out, 'tsconfig.json');
      writeFileSync(
        tsconfig,
        JSON.stringify({
          extends: resolve(REPO, 'tsconfig.build.json'),
          compilerOptions: { outDir: out, rootDir: REPO, sourceMap: false, incremental: false },
          include: [resolve(REPO, 'src')],
          exclude: ['**/*.test.ts'],
        }),
      );
      // The package.json next to dist/ makes the output ESM and lets main.js find its version.
      copyFileSync(resolve(REPO, 'package.json'), join(root, 'package.json'));
      const tsc = resolve(REPO, 'node_modules/typescript/bin/tsc');
      const res = await run(process.execPath, [tsc, '-p', tsconfig], { cwd: REPO }).catch((e: { stdout?: string }) => e);
      // Type errors elsewhere in a shared checkout still emit; only a missing entry point is fatal.
      if (!existsSync(main)) throw new Error(`tsc did not emit ${main}: ${(res as { stdout?: string }).stdout ?? ''}`);
      writeFileSync(stamp, new Date().toISOString());
      // Builds of older sources: remove those not touched for an hour (a run in progress uses its own).
      for (const d of readdirSync(CLUSTER_DIR)) {
        const p = join(CLUSTER_DIR, d);
        if (/^build-[0-9a-f]{16}$/.test(d) && p !== root && Date.now() - statSync(p).mtimeMs > 3_600_000) rmSync(p, { recursive: true, force: true });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return main;
}

// --- credentials -------------------------------------------------------------------------------

/**
 * A kubeconfig that authenticates as a ServiceAccount, with a token minted by the TokenRequest API
 * (what the kubelet projects into the operator's pod). Same server and CA as the admin config.
 */
export async function serviceAccountKubeConfig(namespace: string, serviceAccount: string, expirationSeconds = 3600): Promise<KubeConfig> {
  const admin = new KubeConfig();
  admin.loadFromFile(KUBECONFIG_PATH);
  const core = admin.makeApiClient(CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { expirationSeconds, audiences: [] } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`no token for ${namespace}/${serviceAccount}`);
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: `${namespace}:${serviceAccount}`, token }],
    contexts: [{ name: 'sa', cluster: 'test', user: `${namespace}:${serviceAccount}`, namespace }],
    currentContext: 'sa',
  });
  return kc;
}

/** Writes a KubeConfig to a file (mode 0600) for a child process. */
export function writeKubeConfig(kc: KubeConfig, file: string): string {
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

// --- the operator as a child process -----------------------------------------------------------

export type { OperatorProcess } from './operator-process.js';

export interface SpawnOptions {
  name: string;
  /** Written to a file and passed as UCLOUD_OPERATOR_CONFIG (secrets go in env, not here). */
  config: Record<string, unknown>;
  kubeconfig: string;
  /** Secret values, passed as UCLOUD_*_FILE files as the chart's Secret volume does. */
  secrets: { refreshToken: string; publicKey: string };
  env?: Record<string, string>;
  args?: string[];
  /** As node's PID 1 in a PID namespace (operator-process.ts). */
  pid1?: boolean;
}

let unshareWorks: boolean | undefined;
/** Whether `unshare --pid --fork` works here (root, or user namespaces allowed). */
export async function canRunAsPid1(): Promise<boolean> {
  if (unshareWorks === undefined) {
    const res = await run('unshare', ['--pid', '--fork', 'sh', '-c', 'echo $$']).catch(() => ({ stdout: '' }));
    unshareWorks = res.stdout.trim() === '1';
  }
  return unshareWorks;
}

/** A private temp dir under the cluster dir (removed with it). */
export function workDir(prefix: string): string {
  const base = existsSync(CLUSTER_DIR) ? CLUSTER_DIR : tmpdir();
  const dir = join(base, 'work', `${prefix}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `helm install` of the chart with `values` (written to a values file); throws with helm's output. */
export async function installChart(release: string, namespace: string, values: Record<string, unknown>): Promise<void> {
  const file = join(workDir(`${release}-values`), 'values.yaml');
  writeFileSync(file, JSON.stringify(values));
  const res = await helm(['install', release, CHART_DIR, '--namespace', namespace, '-f', file, '--wait=false']);
  if (res.code !== 0) throw new Error(`helm install failed: ${res.stdout}${res.stderr}`);
}

/**
 * The configuration a release's pod would run with: the chart's rendered config.json, the
 * credentials as the pod reads them from the Secret, listeners on loopback, this pod's identity.
 */
export async function chartOperatorConfig(
  kube: KubePort,
  namespace: string,
  release: string,
  credentials: { refreshToken: string; publicKey: string },
  identity: string,
): Promise<OperatorConfig> {
  const cm = await kube.configMaps.get(namespace, `${release}-ucloud-operator`);
  const rendered = JSON.parse(cm!.data!['config.json']!);
  return parseConfig({
    ...rendered,
    ucloud: { ...rendered.ucloud, ...credentials },
    http: { host: '127.0.0.1', port: 0, probePort: 0 },
    leaderElection: { ...rendered.leaderElection, identity },
    reporting: { batchWindowMs: 20 },
  });
}

/** Starts this checkout's `node main.js` and resolves once it logs its ports (rejects if it exits first). */
export async function spawnOperator(opts: SpawnOptions, timeoutMs = 60_000): Promise<OperatorProcess> {
  return launchOperator({ ...opts, main: await builtEntrypoint(), dir: workDir(opts.name), removeDirOnExit: true, until: 'listening', timeoutMs });
}

/**
 * A replica as the chart runs it, for the tests of replicas and signals: pod `name` (POD_NAME, the
 * Lease identity) campaigning for the Lease, serving `core` (through `coreUrl` when a proxy sits
 * in between) for jobs in `namespace`, credentials as files, exiting 1 after `shutdownDeadlineMs`.
 */
export function spawnReplica(opts: {
  name: string;
  namespace: string;
  core: UCloudCoreEmulator;
  coreUrl?: string;
  leaderElection: Record<string, unknown>;
  shutdownDeadlineMs: number;
  config?: Record<string, unknown>;
  pid1?: boolean;
}): Promise<OperatorProcess> {
  const { core } = opts;
  const base = emulatorConfig(opts.namespace, core, false);
  return spawnOperator({
    name: opts.name,
    pid1: opts.pid1,
    kubeconfig: KUBECONFIG_PATH,
    secrets: { refreshToken: core.refreshToken, publicKey: core.publicKeyBase64Der() },
    config: {
      ...base,
      ucloud: { coreUrl: opts.coreUrl ?? core.url },
      products: TEST_PRODUCTS,
      reporting: { batchWindowMs: 20 },
      leaderElection: { enabled: true, ...opts.leaderElection },
      ...opts.config,
    },
    env: { POD_NAME: opts.name, SHUTDOWN_DEADLINE_MS: String(opts.shutdownDeadlineMs) },
  });
}

// --- Prometheus text format ------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format (what prom-client serves) into samples. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels` (0 when none match). */
export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/** Whether any sample of `name` (with these labels) exists at all. */
export function hasSeries(samples: Sample[], name: string, labels: Record<string, string> = {}): boolean {
  return samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

export async function scrape(probeUrl: string): Promise<Sample[]> {
  const res = await fetch(`${probeUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/**
 * Waits until the job's persisted startedAt is more than a second in the past. Pod and job times
 * have whole-second resolution, so a rank that exits within the second it started has run for
 * 0 s and is charged nothing; tests that expect a charge let it run into the next second first.
 */
export async function runForASecond(ns: { name: string; kube: KubePort }, job: string): Promise<void> {
  for (;;) {
    const startedAt = (await ns.kube.ucloudJobs.get(ns.name, job))?.status?.startedAt;
    if (startedAt && Date.now() > Date.parse(startedAt) + 1100) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
