// Jest global setup for integration tests: one real control plane per test run (etcd,
// kube-apiserver, controller-manager, scheduler, kwok) on 127.0.0.1, with the CRD installed, and
// real kubelet nodes where the machine can run them (UCLOUD_REAL_NODES, default 3; 0 = none).
// Three, because each reports this 2-core machine's 2 CPUs and a rank asks for 1: a 4-rank job
// needs two nodes (its ranks then also talk across nodes), and the realnode files run side by side.
// The integration and realnode projects share it: the second call reuses the running cluster.
// Plain JS: Jest loads global setup natively, without the test transform.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const CLUSTER_DIR = process.env.UCLOUD_TEST_CLUSTER_DIR ?? resolve(REPO, '.cluster/test');

export default async function globalSetup() {
  const started = Date.now();
  const realNodes = process.env.UCLOUD_REAL_NODES ?? '3';
  execFileSync('bash', [resolve(REPO, 'scripts/cluster-up'), '--dir', CLUSTER_DIR, '--real-nodes', realNodes], { stdio: 'inherit' });
  const env = Object.fromEntries(
    readFileSync(resolve(CLUSTER_DIR, 'cluster.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const kubectl = resolve(env.BIN, 'kubectl');
  const opts = { stdio: 'inherit', env: { ...process.env, KUBECONFIG: env.KUBECONFIG } };
  execFileSync('bash', [resolve(REPO, 'scripts/crd-install'), kubectl], opts);
  process.stdout.write(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${CLUSTER_DIR})\n`);
}
