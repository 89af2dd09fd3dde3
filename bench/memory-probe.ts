// Where the operator's memory goes (docs/performance.md, e1): creates N single-rank jobs in a fresh
// namespace, starts the operator as a child process, waits until every job is RUNNING at the
// emulator, lets it idle, then prints RSS and the V8 heap figures from its /metrics.
// Usage (on a running cluster): UCLOUD_TEST_CLUSTER_DIR=... node .bench-build/bench/memory-probe.js <N> [idleSeconds]
// PROBE_HEAP_SNAPSHOT=1 also writes a heap snapshot of the idle operator (SIGUSR2) into the cluster dir.
import { resolve } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../src/api/v1alpha1/ucloudjob.js';
import { UCloudCoreEmulator } from '../test/support/ucloud-core-emulator.js';
import {
  CLUSTER_DIR,
  createNamespace,
  deleteNamespace,
  kubeConfig,
  log,
  mapLimited,
  operatorConfig,
  operatorMetrics,
  ports,
  procSample,
  rawConfig,
  simpleResource,
  sleep,
  startOperatorProcess,
  waitUntil,
} from './lib.js';

const N = Number(process.argv[2] ?? 1000);
const IDLE = Number(process.argv[3] ?? 20);

/** The V8 heap figures of operatorMetrics (lib.ts), in MiB. */
async function heapFigures(probeUrl: string): Promise<Record<string, number>> {
  const metrics = await operatorMetrics(probeUrl);
  return Object.fromEntries(
    Object.entries(metrics)
      .filter(([k]) => k.startsWith('nodejs_'))
      .map(([k, v]) => [k, Math.round(v / 2 ** 20)]),
  );
}

async function main(): Promise<void> {
  const kc = kubeConfig();
  const core = await UCloudCoreEmulator.start({ providerId: 'probe' });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = await createNamespace(kc, 'mem');
  const raw = rawConfig(ns, core);
  const config = operatorConfig(raw);
  const ids = Array.from({ length: N }, (_, i) => String(400000 + i));
  core.registerJobs(ids); // written behind the adapter, as jobs UCloud/Core created
  const t0 = performance.now();
  await mapLimited(ids, 32, (id) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, body: simpleResource(id, config) }),
  );
  log(`${N} UCloudJobs created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (process.env.PROBE_HEAP_SNAPSHOT) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2`;
  const op = await startOperatorProcess(raw, resolve(CLUSTER_DIR, `probe-${ns}.log`), ports());
  const t1 = performance.now();
  await waitUntil(() => ids.every((id) => core.jobStates(id).includes('RUNNING')), 'every job RUNNING', Math.max(300_000, N * 600), 500);
  log(
    `all RUNNING ${((performance.now() - t1) / 1000).toFixed(1)} s after start; rss ${(procSample(op.pid).rssBytes / 2 ** 20).toFixed(0)} MiB ${JSON.stringify(await heapFigures(op.probeUrl))}`,
  );
  for (let s = 0; s < IDLE; s += 5) {
    await sleep(5000);
    log(`idle +${s + 5}s rss ${(procSample(op.pid).rssBytes / 2 ** 20).toFixed(0)} MiB ${JSON.stringify(await heapFigures(op.probeUrl))}`);
  }
  if (process.env.PROBE_HEAP_SNAPSHOT) {
    op.child.kill('SIGUSR2');
    await sleep(Math.max(5000, N * 5));
  }
  op.child.kill('SIGTERM');
  await op.exited;
  await deleteNamespace(kc, ns, false);
  await core.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`probe failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
