// Internet egress (jobs.networkPolicy.egress, ADR 0019) against real packets: with the default
// (IM2's: every IPv4 address outside its private ranges) a job reaches a host on a public address
// and not one on a private address; a pod no policy selects reaches both, so the private one is
// fenced by the job's policy and not unreachable anyway.
//
// Both stand-ins live in a network namespace this test makes, behind a veth pair it makes: the
// public one on 192.88.99.10 (outside every range IM2 excepts), the private one on 10.123.45.10.
// No packet can leave the machine: the host routes those two /32s into the veth only, an
// `unreachable` route for their /24s catches them if the veth is gone, and the cluster's fence
// (UCLOUD-RN-FENCE, scripts/cluster/real-nodes) still drops everything pods forward except what
// goes out of this veth, the one exception this test adds and removes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestStack } from '../support/harness.js';
import { controlPodOutput, describeOnRealNodes, probeShell, REAL_NODE_POD_RANGE, runShellJob, startRealStack, thenWait } from '../support/real-node.js';

const PUBLIC_IP = '192.88.99.10';
const PRIVATE_IP = '10.123.45.10';
const NETNS = `uco-eg-${randomBytes(3).toString('hex')}`;
const HOST_IF = 'uco-eg-h';
const NS_IF = 'uco-eg-n';
const LINK = { host: '169.254.77.1', ns: '169.254.77.2' };
const FENCE_EXCEPTION = ['-t', 'mangle', '-I', 'UCLOUD-RN-FENCE', '1', '-s', REAL_NODE_POD_RANGE, '-o', HOST_IF, '-j', 'RETURN'];

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (...args: string[]) => sh('ip', 'netns', 'exec', NETNS, ...args);
const quietly = (fn: () => unknown) => {
  try {
    fn();
  } catch {
    /* already gone */
  }
};

/** A TCP server in the namespace answering "reachable" on port 80 of every address it has. */
const SERVER = `import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 80)); s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"reachable\\n"); c.close()`;

const PROBE = probeShell(3);

/** `ip netns add` mounts /run/netns (once per host); the host must be left as the test found it. */
const netnsMounted = () =>
  sh('cat', '/proc/mounts')
    .split('\n')
    .some((l) => l.split(' ')[1] === '/run/netns');
let mountedByUs = false;

function addStandIns(): void {
  mountedByUs = !netnsMounted();
  sh('ip', 'netns', 'add', NETNS);
  sh('ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NETNS);
  sh('ip', 'addr', 'add', `${LINK.host}/30`, 'dev', HOST_IF);
  sh('ip', 'link', 'set', HOST_IF, 'up');
  inNs('ip', 'link', 'set', 'lo', 'up');
  inNs('ip', 'addr', 'add', `${LINK.ns}/30`, 'dev', NS_IF);
  inNs('ip', 'link', 'set', NS_IF, 'up');
  for (const ip of [PUBLIC_IP, PRIVATE_IP]) inNs('ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo');
  inNs('ip', 'route', 'add', 'default', 'via', LINK.host);
  for (const ip of [PUBLIC_IP, PRIVATE_IP]) {
    sh('ip', 'route', 'add', 'unreachable', `${ip.split('.').slice(0, 3).join('.')}.0/24`);
    sh('ip', 'route', 'add', `${ip}/32`, 'via', LINK.ns, 'dev', HOST_IF);
  }
  sh('iptables', ...FENCE_EXCEPTION);
}

function removeStandIns(): void {
  quietly(() => sh('iptables', ...FENCE_EXCEPTION.map((a) => (a === '-I' ? '-D' : a)).filter((a) => a !== '1')));
  for (const ip of [PUBLIC_IP, PRIVATE_IP]) {
    quietly(() => sh('ip', 'route', 'del', `${ip}/32`));
    quietly(() => sh('ip', 'route', 'del', 'unreachable', `${ip.split('.').slice(0, 3).join('.')}.0/24`));
  }
  // Deleting the namespace deletes its end of the veth, and with it the host's end.
  quietly(() => sh('ip', 'netns', 'del', NETNS));
  quietly(() => sh('ip', 'link', 'del', HOST_IF));
  if (mountedByUs && sh('ls', '-A', '/run/netns').trim() === '') quietly(() => sh('umount', '/run/netns'));
}

describeOnRealNodes('internet egress on a real node', () => {
  let stack: TestStack;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    addStandIns();
    server = spawn('ip', ['netns', 'exec', NETNS, 'python3', '-c', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok, fail) => {
      server!.once('error', fail);
      server!.stdout!.once('data', () => ok());
    });
    stack = await startRealStack();
  });
  afterAll(async () => {
    await stack?.stop();
    if (server?.pid) quietly(() => process.kill(server!.pid!));
    removeStandIns();
  }, 120_000);

  it('a job reaches an address outside the private ranges but not a private one; an unfenced pod reaches both', async () => {
    expect(stack.config.jobs.networkPolicy.egress.allow).toBe('internet');
    // The enforcer programs the policy only once the pod has an IP, so a container's first moments
    // are unfenced: wait (up to 30 s) until the private stand-in stops answering, then probe both.
    const script = `${PROBE}
for i in $(seq 60); do [ "$(probe x ${PRIVATE_IP} 80)" = "x blocked" ] && break; sleep 0.5; done
probe public ${PUBLIC_IP} 80
probe private ${PRIVATE_IP} 80`;
    const job = await runShellJob(stack, '91901', thenWait(script));
    const [rank0] = await job.output(150_000);
    expect(rank0!.trim().split('\n')).toEqual(['public reached', 'private blocked']);

    // The control: a bare pod that no policy selects, on a real node, with the same image.
    const log = await controlPodOutput(stack, `${PROBE}\nprobe public ${PUBLIC_IP} 80\nprobe private ${PRIVATE_IP} 80`);
    expect(log.trim().split('\n')).toEqual(['public reached', 'private reached']);
    await job.finish();
  }, 300_000);
});
