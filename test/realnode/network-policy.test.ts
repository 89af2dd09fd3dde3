// Real packets and the job's NetworkPolicy (enforced by kube-router's firewall on the real node):
// a job's ranks reach each other and its declared peer (by alias), DNS works, and nothing else
// answers: not another job, not a port on the node (an operator stand-in), not the apiserver, not
// a metadata-style address. A pod no policy selects, on the same node, reaches every one of them:
// what the job cannot reach is fenced by its policy, not unreachable anyway.
//
// The apiserver is the real one, reached the two ways a pod reaches it on a real cluster: the
// `kubernetes` Service the kubelet names in every container's KUBERNETES_SERVICE_HOST/PORT
// (10.96.0.1:443) and the node's address at the apiserver's port (where a control-plane node's
// apiserver listens). scripts/cluster/real-nodes DNATs both, for pod sources, to the apiserver on
// 127.0.0.1, as kube-proxy would; so "reached" means the apiserver's TLS listener answered, and the
// job's "blocked" is its policy dropping packets that would otherwise get that answer, not an
// address where nothing listens.
//
// Every target is on this machine: the stand-ins listen on the node IP and on a link-local address
// this test adds to the loopback interface (a local address: delivered to this host, never
// routed out), the apiserver on loopback, so even a failed policy sends no packet off the host (and
// the cluster's fence drops anything the pod range would forward outside it).
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:net';
import { podName } from '../../src/api/v1alpha1/names.js';
import { clusterEnv } from '../support/cluster-env.js';
import type { TestStack } from '../support/harness.js';
import { runningPods } from '../support/jobs.js';
import { controlPodOutput, describeOnRealNodes, probeShell, REAL_NODE_IP, runShellJob, standIn, startRealStack, thenWait } from '../support/real-node.js';

const META_IP = '169.254.123.254';

const PROBE = probeShell(3);
/** Shell: `api NAME HOST PORT` prints "NAME reached" when the apiserver answers there, else "NAME
 *  blocked". It sends plain HTTP to the TLS port: the apiserver's Go listener answers that with a
 *  400 "Client sent an HTTP request to an HTTPS server" (busybox wget's TLS cannot complete a
 *  handshake with it from a pod: alert 40). */
const API = `api() { got=$(printf 'GET /version HTTP/1.0\\r\\n\\r\\n' | timeout 3 nc "$2" "$3" 2>/dev/null | grep -c 'HTTP request to an HTTPS server'); if [ "$got" = 1 ]; then echo "$1 reached"; else echo "$1 blocked"; fi; }`;
/** Shell: `reach NAME HOST PORT` retries up to 60 s (DNS of a new pod appears once it is Ready). */
const REACH = `reach() { for i in $(seq 120); do { got=$(timeout 3 nc "$2" "$3" </dev/null); } 2>/dev/null && [ -n "$got" ] && break; sleep 0.5; done; echo "$1: $got"; }`;

describeOnRealNodes('NetworkPolicy on a real node', () => {
  let stack: TestStack;
  const servers: Server[] = [];
  const OPERATOR_PORT = 24117;
  const apiPort = clusterEnv().API_PORT!;

  beforeAll(async () => {
    execFileSync('ip', ['addr', 'add', `${META_IP}/32`, 'dev', 'lo']);
    servers.push(await standIn(REAL_NODE_IP, OPERATOR_PORT), await standIn(META_IP, 80));
    stack = await startRealStack();
  });
  afterAll(async () => {
    await stack?.stop();
    for (const s of servers) s.close();
    execFileSync('ip', ['addr', 'del', `${META_IP}/32`, 'dev', 'lo'], { stdio: 'ignore' });
  }, 120_000);

  it('a job reaches its ranks, its peer by alias and DNS, and nothing else; an unfenced pod reaches the stand-ins and the real apiserver', async () => {
    const serve = 'nc -ll -p 7000 -e echo "job $UCLOUD_JOB_ID rank $UCLOUD_RANK" &';
    // The other job, and the peer job (declared by the first one as "db").
    const other = await runShellJob(stack, '90501', thenWait(serve));
    const peer = await runShellJob(stack, '90502', thenWait(serve));
    const [otherPod] = await runningPods(stack, other.id, 1, 90_000);
    await runningPods(stack, peer.id, 1, 90_000);
    const otherIp = otherPod!.status!.podIP!;

    // Rank 0 probes once its policy has had a moment to be programmed (see docs/architecture.md:
    // the enforcer learns a pod's IP only when the pod has one).
    const script = `${serve}
if [ "$UCLOUD_RANK" = 0 ]; then
  ${PROBE}
  ${REACH}
  sleep 5
  reach rank-1 "$(cat /etc/ucloud/node-1.txt)" 7000
  reach peer db 7000
  if nslookup "$(cat /etc/ucloud/node-1.txt)" >/dev/null 2>&1; then echo "dns ok"; else echo "dns failed"; fi
  probe other-job ${otherIp} 7000
  probe operator-port ${REAL_NODE_IP} ${OPERATOR_PORT}
  probe metadata ${META_IP} 80
  ${API}
  api apiserver-node ${REAL_NODE_IP} ${apiPort}
  api apiserver-service "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT"
fi`;
    const job = await runShellJob(stack, '90503', thenWait(script), { replicas: 2, resources: [{ type: 'peer', hostname: 'db', jobId: peer.id }] });
    const [rank0] = await job.output(150_000);
    expect(rank0!.trim().split('\n')).toEqual([
      'rank-1: job 90503 rank 1',
      'peer: job 90502 rank 0',
      'dns ok',
      'other-job blocked',
      'operator-port blocked',
      'metadata blocked',
      'apiserver-node blocked',
      'apiserver-service blocked',
    ]);

    // The control: a bare pod that no policy selects, on the same node, with the same image.
    const [jobRank0] = await runningPods(stack, job.id, 2);
    const log = await controlPodOutput(
      stack,
      `${PROBE}
probe other-job ${otherIp} 7000
probe fenced-job ${jobRank0!.status!.podIP} 7000
probe operator-port ${REAL_NODE_IP} ${OPERATOR_PORT}
probe metadata ${META_IP} 80
${API}
api apiserver-node ${REAL_NODE_IP} ${apiPort}
api apiserver-service "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT"`,
    );
    // The other job accepts from anyone? No: its policy admits only its own job's pods.
    expect(log.trim().split('\n')).toEqual([
      'other-job blocked',
      'fenced-job blocked',
      'operator-port reached',
      'metadata reached',
      'apiserver-node reached',
      'apiserver-service reached',
    ]);
    expect(podName(job.name, 0)).toBe(jobRank0!.metadata!.name);
  }, 300_000);
});
