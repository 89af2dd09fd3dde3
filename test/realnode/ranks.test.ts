// Real containers: every rank of a 1-rank and a 4-rank job reads exactly the spec's /etc/ucloud
// files and its environment from inside the container, and the ranks reach each other by the
// node-N.txt hostnames (an MPI-style all-to-all exchange with nc).
import { podName, serviceName } from '../../src/api/v1alpha1/names.js';
import type { TestStack } from '../support/harness.js';
import { describeOnRealNodes, runShellJob, startRealStack, thenWait } from '../support/real-node.js';

/** Every visible file of /etc/ucloud as "name base64" lines, then the environment and user. */
const DUMP = `
cd /etc/ucloud && for f in $(ls); do printf 'file %s %s\\n' "$f" "$(base64 -w0 < "$f")"; done
for v in UCLOUD_RANK UCLOUD_TASK_COUNT UCLOUD_JOB_ID VC_TASK_INDEX; do env | grep "^$v=" | sed 's/^/env /'; done
printf 'id %s:%s\\n' "$(id -u)" "$(id -g)"
printf 'pwd %s\\n' "$(cd /work && pwd)"`;

function parse(out: string) {
  const files: Record<string, string> = {};
  const env: Record<string, string> = {};
  let id = '';
  for (const line of out.split('\n')) {
    const [kind, ...rest] = line.split(' ');
    if (kind === 'file') files[rest[0]!] = Buffer.from(rest[1] ?? '', 'base64').toString('utf8');
    if (kind === 'env') env[rest[0]!.split('=')[0]!] = rest[0]!.slice(rest[0]!.indexOf('=') + 1);
    if (kind === 'id') id = rest[0]!;
  }
  return { files, env, id };
}

describeOnRealNodes('ranks on a real node', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startRealStack();
  });
  afterAll(async () => stack?.stop(), 120_000);

  const host = (job: string, r: number) => `${podName(job, r)}.${serviceName(job)}.${stack.ns.name}.svc.cluster.local\n`;

  it.each([
    ['1-rank', '90101', 1],
    ['4-rank', '90104', 4],
  ])(
    '%s job: each rank reads the spec table byte for byte, and its environment',
    async (_label, id, replicas) => {
      const job = await runShellJob(stack, id, thenWait(DUMP), { replicas });
      const out = await job.output();
      const hosts = Array.from({ length: replicas }, (_, r) => host(job.name, r));
      for (const [rank, text] of out.entries()) {
        const { files, env, id: user } = parse(text);
        // The spec's table ("Multi-replica Jobs"): one line per file, rank.txt without a newline
        // (the downward API writes the label as it is).
        expect(files).toEqual({
          ...Object.fromEntries(hosts.map((h, r) => [`node-${r}.txt`, h])),
          'nodes.txt': hosts.join(''),
          'number_of_nodes.txt': `${replicas}\n`,
          'cores.txt': '1\n',
          'job_id.txt': `${id}\n`,
          'rank.txt': String(rank),
        });
        expect(env).toEqual({ UCLOUD_RANK: String(rank), UCLOUD_TASK_COUNT: String(replicas), UCLOUD_JOB_ID: id, VC_TASK_INDEX: String(rank) });
        expect(user).toBe('11042:11042');
      }
      await job.finish();
    },
    180_000,
  );

  it('4 ranks exchange messages all-to-all by their node-N.txt hostnames', async () => {
    // Every rank serves "rank R" on port 7000, then connects to every rank (itself included) by
    // the hostname in node-N.txt until it answers; DNS for a rank appears once its pod is Ready.
    const script = `
nc -ll -p 7000 -e echo "rank $UCLOUD_RANK" &
n=$(cat /etc/ucloud/number_of_nodes.txt)
for p in $(seq 0 $((n - 1))); do
  h=$(cat /etc/ucloud/node-$p.txt)
  for try in $(seq 1 120); do
    got=$(timeout 3 nc "$h" 7000 </dev/null 2>/dev/null) && [ -n "$got" ] && break
    sleep 0.5
  done
  echo "to $p: $got"
done`;
    const job = await runShellJob(stack, '90204', thenWait(script), { replicas: 4 });
    const out = await job.output(120_000);
    for (const text of out) {
      expect(text.trim().split('\n')).toEqual([0, 1, 2, 3].map((p) => `to ${p}: rank ${p}`));
    }
    await job.finish();
  }, 180_000);
});
