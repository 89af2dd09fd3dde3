// The SSH address (ADR 0020) against a real node: the status text UCloud/Core receives names a
// host and port, and a client on this machine that connects there gets what rank 0's SSH port
// answers. A real sshd is not needed: rank 0 serves an SSH-style banner with nc on the container
// port. The test cluster has no service proxy, so the port reaches rank 0 as its hostPort on the
// node (interactive.ssh.expose: hostPort, the CNI portmap plugin), with the node IP as the host.
import { connect } from 'node:net';
import { eventually, type TestStack } from '../support/harness.js';
import { createJobs } from '../support/jobs.js';
import { describeOnRealNodes, REAL_NODE_IP, shellJob, shellJobHandle, startRealStack, thenWait } from '../support/real-node.js';

const BANNER = 'SSH-2.0-ucloud-stand-in';
const CONTAINER_PORT = 2222;
const STATUS = /^SSH: Connected! Available at: ssh ucloud@(\S+) -p (\d+)$/;

/** The first line whoever listens on host:port sends, or undefined if nothing answers. */
function banner(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect({ host, port, timeout: 3000 });
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) s.end();
    });
    s.on('close', () => resolve(got ? got.split('\n')[0] : undefined));
    s.on('timeout', () => s.destroy());
    s.on('error', () => resolve(undefined));
  });
}

describeOnRealNodes('the SSH address on a real node', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startRealStack({
      interactive: { ssh: { enabled: true, host: REAL_NODE_IP, portMin: 32100, portMax: 32199, expose: 'hostPort', containerPort: CONTAINER_PORT } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  }, 120_000);

  it('the SSH status text carries a port that a client on the host reaches', async () => {
    const id = '92001';
    stack.core.setSshKeys(id, [
      { id: 'k', owner: 'user', createdAt: 0, fingerprint: 'fp', specification: { title: 'k', key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host' } },
    ]);
    const script = thenWait(`nc -ll -p ${CONTAINER_PORT} -e echo ${BANNER} &
echo "public ssh: $UCLOUD_PUBLIC_SSH"
cat /etc/ucloud/ssh/authorized_keys.ucloud`);
    const job = shellJob(id, script) as any;
    job.specification.sshEnabled = true;
    job.status.resolvedApplication.invocation.ssh = { mode: 'OPTIONAL' };
    expect((await createJobs(stack, job)).status).toBe(200);
    const handle = shellJobHandle(stack, id, 1);
    const [out] = await handle.output(150_000);

    // What UCloud/Core was told, in IM2's words.
    const text = await eventually(
      () => stack.core.updates.find((u) => u.id === id && STATUS.test(u.update.status ?? ''))?.update.status,
      'the SSH status text at UCloud/Core',
      60_000,
    );
    const [, host, portText] = STATUS.exec(text!)!;
    const port = Number(portText);
    expect(host).toBe(REAL_NODE_IP);
    expect(port).toBeGreaterThanOrEqual(32100);
    expect(port).toBeLessThanOrEqual(32199);
    expect(out!.trim().split('\n')).toEqual([`public ssh: ${REAL_NODE_IP}:${port}`, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host']);

    // A client on this machine connects to exactly that address and gets rank 0's answer.
    expect(await eventually(() => banner(host!, port), `rank 0's SSH port at ${host}:${port}`, 60_000)).toBe(BANNER);
    await handle.finish();
  }, 300_000);
});
