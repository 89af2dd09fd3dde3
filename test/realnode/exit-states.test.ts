// Real containers end: exit 0 is SUCCESS, exit 3 is FAILURE with the code in the status text, a
// real OOM kill (1 GiB product, a program that wants more) is FAILURE saying so, and terminate is
// SUCCESS with the container really stopped (no task left in containerd).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { podName } from '../../src/api/v1alpha1/names.js';
import { CLUSTER_DIR } from '../support/cluster-env.js';
import type { TestStack } from '../support/harness.js';
import { crWhen, noPodsLeft, runningPods, terminate } from '../support/jobs.js';
import { describeOnRealNodes, runShellJob, startRealStack } from '../support/real-node.js';

/** Running containerd tasks of a pod on real node `node` (containerd labels every container with its pod). */
function runningTasksOf(node: string, pod: string): string[] {
  const ctr = ['-a', resolve(CLUSTER_DIR, `real/node${node.replace('realnode-', '')}/containerd.sock`), '-n', 'k8s.io'];
  const containers = execFileSync('ctr', [...ctr, 'containers', 'ls', '-q', `labels."io.kubernetes.pod.name"==${pod}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const tasks = execFileSync('ctr', [...ctr, 'tasks', 'ls'], { encoding: 'utf8' })
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[2] === 'RUNNING')
    .map((cols) => cols[0]!);
  return containers.filter((c) => tasks.includes(c));
}

describeOnRealNodes('how a real container ends', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startRealStack();
  });
  afterAll(async () => stack?.stop(), 120_000);

  const finalStatus = async (id: string) => {
    await stack.core.waitFor(() => ['SUCCESS', 'FAILURE'].some((s) => stack.core.jobStates(id).includes(s as never)), 120_000, `job ${id} final`);
    const last = [...stack.core.updates].reverse().find((u) => u.id === id && (u.update.state === 'SUCCESS' || u.update.state === 'FAILURE'));
    return { state: last?.update.state, status: last?.update.status };
  };

  it('exit 0 is SUCCESS', async () => {
    await runShellJob(stack, '90300', 'echo done; exit 0');
    expect(await finalStatus('90300')).toEqual({ state: 'SUCCESS', status: 'The job finished: its rank exited with code 0' });
  }, 150_000);

  it('exit 3 is FAILURE with the code in the status text', async () => {
    await runShellJob(stack, '90303', 'echo failing >&2; exit 3');
    expect(await finalStatus('90303')).toEqual({ state: 'FAILURE', status: 'The job failed: rank 0 exited with code 3' });
  }, 150_000);

  it('an OOM kill is FAILURE saying so', async () => {
    // awk doubles a string until the 1 GiB limit of the product's memory cgroup kills it.
    await runShellJob(stack, '90337', `awk 'BEGIN { s = "0123456789abcdef"; while (1) s = s s }'`);
    expect(await finalStatus('90337')).toEqual({ state: 'FAILURE', status: 'The job failed: rank 0 was OOM killed' });
  }, 150_000);

  it('terminate is SUCCESS and stops the container', async () => {
    const job = await runShellJob(stack, '90310', 'trap "exit 0" TERM; while true; do sleep 1; done');
    const [pod] = await runningPods(stack, '90310', 1, 90_000);
    await crWhen(stack, '90310', (j) => j.status?.state === 'RUNNING', 'RUNNING');
    const node = pod!.spec!.nodeName!;
    expect(runningTasksOf(node, podName(job.name, 0)).length).toBeGreaterThan(0);
    expect((await terminate(stack, '90310')).status).toBe(200);
    const end = await finalStatus('90310');
    expect(end.state).toBe('SUCCESS');
    await noPodsLeft(stack, '90310', 90_000);
    expect(runningTasksOf(node, podName(job.name, 0))).toEqual([]);
  }, 180_000);
});
