// H1 on a real node: a terminating job keeps its NetworkPolicy until its last pod is gone. The
// job's container traps SIGTERM and, through its whole termination grace period, keeps probing a
// metadata-style address its policy blocks and an address its policy allows; what it printed while
// its pod was terminating shows the policy (enforced by kube-router on the node) still fenced it.
// Without the guard in the reconciler's teardown (the policy deleted in the same pass as the pods)
// the blocked stand-in answers during the grace period.
//
// Both stand-ins listen on link-local addresses this test adds to the loopback interface: local
// addresses, delivered to this host and never routed out, so even a failed policy sends no packet
// off the machine. The allowed one is admitted as a DNS address (jobs.networkPolicy.dnsIpBlocks,
// TCP 53): an ipBlock, so it does not depend on the job's Service, which teardown deletes first.
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { networkPolicyName, podName } from '../../src/api/v1alpha1/names.js';
import { eventually, type TestStack } from '../support/harness.js';
import { noPodsLeft, terminate } from '../support/jobs.js';
import { describeOnRealNodes, END, probeShell, REAL_NODE_IP, runShellJob, standIn, startRealStack } from '../support/real-node.js';

const BLOCKED_IP = '169.254.123.252';
const ALLOWED_IP = '169.254.123.253';
const TERM_END = '__term_probes_done__';

/** 1 s per probe: the grace period must hold several rounds of both. */
const PROBE = probeShell(1);

describeOnRealNodes('security: H1 the policy outlives a terminating pod (real node)', () => {
  let stack: TestStack;
  const servers: Server[] = [];

  beforeAll(async () => {
    for (const ip of [BLOCKED_IP, ALLOWED_IP]) execFileSync('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
    servers.push(await standIn(BLOCKED_IP, 80), await standIn(ALLOWED_IP, 53));
    stack = await startRealStack({ jobs: { networkPolicy: { dnsIpBlocks: [`${REAL_NODE_IP}/32`, `${ALLOWED_IP}/32`] } } });
  });
  afterAll(async () => {
    await stack?.stop();
    for (const s of servers) s.close();
    for (const ip of [BLOCKED_IP, ALLOWED_IP]) execFileSync('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo'], { stdio: 'ignore' });
  }, 120_000);

  it('a SIGTERM-trapping job still cannot reach a blocked address during its grace period', async () => {
    // Before SIGTERM: the fence as usual (first waits until the enforcer has programmed the policy,
    // which it does only once the pod has an IP: until then the blocked stand-in answers). After SIGTERM: four rounds of both probes, then a marker, then wait to be killed.
    const script = `${PROBE}
trap 'term=1' TERM
for i in $(seq 60); do [ "$(probe x ${BLOCKED_IP} 80)" = "x blocked" ] && break; sleep 0.5; done
probe allowed ${ALLOWED_IP} 53
probe blocked ${BLOCKED_IP} 80
echo ${END}
while [ -z "$term" ]; do sleep 0.2; done
echo "sigterm"
for i in 1 2 3 4; do probe allowed ${ALLOWED_IP} 53; probe blocked ${BLOCKED_IP} 80; done
echo ${TERM_END}
while true; do sleep 0.2; done`;
    const job = await runShellJob(stack, '91301', script);
    const [before] = await job.output(120_000);
    expect(before!.trim().split('\n')).toEqual(['allowed reached', 'blocked blocked']);

    const core = stack.ns.kc.makeApiClient(CoreV1Api);
    const pod = podName(job.name, 0);
    expect((await terminate(stack, job.id)).status).toBe(200);
    // Read while the pod still exists: its log goes with it. The grace period is 10 s; the probes
    // take about 4 s after SIGTERM.
    const seen = await eventually(
      async () => {
        const log = await job.log(0);
        if (!log.includes(`${TERM_END}\n`)) return undefined;
        const p = await core.readNamespacedPod({ name: pod, namespace: stack.ns.name });
        const policy = await stack.ns.kube.networkPolicies.get(stack.ns.name, networkPolicyName(job.name)).catch(() => undefined);
        return { log, terminating: Boolean(p.metadata?.deletionTimestamp), policy: Boolean(policy) };
      },
      'the terminating container to finish its probes',
      60_000,
    );
    expect(seen.terminating).toBe(true);
    expect(seen.log).toContain('sigterm\n');
    const during = seen.log
      .slice(seen.log.indexOf('sigterm\n') + 'sigterm\n'.length, seen.log.indexOf(TERM_END))
      .trim()
      .split('\n');
    expect(during).toEqual(Array.from({ length: 4 }, () => ['allowed reached', 'blocked blocked']).flat());
    expect(seen.policy).toBe(true);

    await noPodsLeft(stack, job.id, 90_000);
    await eventually(
      async () => ((await stack.ns.kube.networkPolicies.get(stack.ns.name, networkPolicyName(job.name)).catch(() => undefined)) ? undefined : true),
      'the policy to go once no pod is left',
      60_000,
    );
  }, 300_000);
});
