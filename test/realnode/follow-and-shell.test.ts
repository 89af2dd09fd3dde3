// Real logs and a real exec: follow streams what the container writes to stdout and stderr
// (Kubernetes' log API interleaves both into one stream, which UCloud gets as stdout), keeping up
// with a fast writer to its last line; a SHELL session runs a real command in the container over
// the apiserver's exec (kubelet, containerd) and exits.
import { podName } from '../../src/api/v1alpha1/names.js';
import { eventually, type TestStack } from '../support/harness.js';
import { crWhen, runningPods } from '../support/jobs.js';
import { describeOnRealNodes, openRealTerminal, runShellJob, SHELL_CALL, shellJob, startRealStack } from '../support/real-node.js';
import { FrameClient } from '../support/ws-frames.js';

const LINES = 20_000;

describeOnRealNodes('follow and shell on a real node', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startRealStack({ interactive: { terminals: true, followPollSeconds: 0.2 } });
  });
  afterAll(async () => stack?.stop(), 120_000);

  it('follow streams real stdout and stderr, and a fast writer to its last line', async () => {
    const id = '90601';
    const script = `for i in 0 1 2; do echo "out $i"; echo "err $i" >&2; sleep 0.2; done
seq 1 ${LINES}
echo last line
exec sleep 3600`;
    await runShellJob(stack, id, script);
    await runningPods(stack, id, 1, 90_000);
    const job = await crWhen(stack, id, (j) => j.status?.state === 'RUNNING', 'RUNNING');
    const wsUrl = `${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/jobs.provider.${stack.core.providerId}/websocket`;
    const client = await FrameClient.connect(wsUrl, { authorization: `Bearer ${await stack.core.signCoreToken()}` });
    client.send({ call: `jobs.provider.${stack.core.providerId}.follow`, streamId: 'f', payload: { type: 'init', job: shellJob(id, script) } });
    const text = await eventually(
      () => {
        const t = client.followText('f', 0);
        return t.includes('last line\n') ? t : undefined;
      },
      'the last line through follow',
      90_000,
    ).catch((e: Error) => {
      const t = client.followText('f', 0);
      throw new Error(
        `${e.message}; ${client.frames.length} frames, ${t.length} chars, first ${JSON.stringify(client.frames.slice(0, 3))}, tail ${JSON.stringify(t.slice(-200))}`,
      );
    });
    const lines = text.split('\n');
    // stdout and stderr are two pipes: each keeps its order, their interleaving is the runtime's.
    expect(lines.slice(0, 6).filter((l) => l.startsWith('out'))).toEqual(['out 0', 'out 1', 'out 2']);
    expect(lines.slice(0, 6).filter((l) => l.startsWith('err'))).toEqual(['err 0', 'err 1', 'err 2']);
    expect(lines.slice(6, 6 + LINES)).toEqual(Array.from({ length: LINES }, (_, i) => String(i + 1)));
    expect(lines[6 + LINES]).toBe('last line');
    await client.close();
    expect(job.metadata?.name).toBe(`j-${id}`);
  }, 150_000);

  it('a SHELL session runs a real command in the container', async () => {
    const id = '90602';
    const { term } = await openRealTerminal(stack, id, { cols: 100, rows: 30 });
    const call = SHELL_CALL;
    const output = () => term.dataOn('s');
    // Computed in the container: the shell's arithmetic, its user and its hostname (the pod's).
    term.send({ call, streamId: 'i1', payload: { type: 'input', data: 'echo "answer=$((6 * 7)) uid=$(id -u) host=$(hostname)"\n' } });
    await eventually(() => output().includes(`answer=42 uid=11042 host=${podName(`j-${id}`, 0)}`), 'the command output from the container', 30_000);
    term.send({ call, streamId: 'i2', payload: { type: 'input', data: 'exit\n' } });
    await term.waitFor((f) => f.streamId === 's' && f.type === 'response', 'the end of the terminal', 30_000);
  }, 150_000);
});
