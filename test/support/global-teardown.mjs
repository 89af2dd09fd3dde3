// Stops the control plane after the integration run; scripts/cluster-down fails (and so does the
// run) if any of its processes survived. KEEP_CLUSTER=1 leaves it running for the next run.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const CLUSTER_DIR = process.env.UCLOUD_TEST_CLUSTER_DIR ?? resolve(REPO, '.cluster/test');

export default async function globalTeardown() {
  if (process.env.KEEP_CLUSTER === '1') return;
  execFileSync('bash', [resolve(REPO, 'scripts/cluster-down'), '--dir', CLUSTER_DIR], { stdio: 'inherit' });
}
