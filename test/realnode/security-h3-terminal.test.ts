// security: H3 through a real exec — a shell in a real container writes as fast as it can to a
// browser that has stopped reading. The operator's terminal pauses the real exec stream (kubelet →
// apiserver → operator) once the browser's socket is backed up, so what it takes off the exec stays
// bounded (the high-water mark plus what the kernel's socket buffers hold), the container's writer
// blocks, and the terminal stays open; once the browser reads again, output flows again. The same
// assertion on bytes as the unit test (test/unit/security/h3-terminal-back-pressure.test.ts), with
// the apiserver's and the kubelet's buffers in the path. Without the pause, the operator reads on
// until the byte cap closes the terminal.
import { readFileSync } from 'node:fs';
import { podName } from '../../src/api/v1alpha1/names.js';
import { createKubeExecPort, type ExecPort, type ExecStream } from '../../src/adapter/sessions/exec.js';
import { eventually, type TestStack } from '../support/harness.js';
import { describeOnRealNodes, openRealTerminal, SHELL_CALL, startRealStack } from '../support/real-node.js';

const HIGH = 256 * 1024;
const BLOCK = 64 * 1024;

/** What TCP can hold between the operator and the browser whatever the browser does. */
function kernelBufferBytes(): number {
  const max = (f: string) => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[2] ?? 0);
  return max('/proc/sys/net/ipv4/tcp_wmem') + max('/proc/sys/net/ipv4/tcp_rmem');
}

/** The real exec port, counting what the operator takes off each stream and whether it is paused. */
class CountingExec implements ExecPort {
  received = 0;
  paused = false;
  pauses = 0;
  constructor(private readonly inner: ExecPort) {}
  async open(req: Parameters<ExecPort['open']>[0]): Promise<ExecStream> {
    const s = await this.inner.open(req);
    return {
      write: (d, cb) => s.write(d, cb),
      get bufferedAmount() {
        return s.bufferedAmount;
      },
      pause: () => {
        this.paused = true;
        this.pauses++;
        s.pause();
      },
      resume: () => {
        this.paused = false;
        s.resume();
      },
      resize: (c, r) => s.resize(c, r),
      onData: (cb) =>
        s.onData((d) => {
          this.received += d.length;
          cb(d);
        }),
      onExit: (cb) => s.onExit(cb),
      close: () => s.close(),
    };
  }
}

/** Runs `command` in the container once (its own exec) and returns what it printed. */
async function execOnce(port: ExecPort, namespace: string, pod: string, command: string[]): Promise<string> {
  const s = await port.open({ namespace, pod, container: 'user-job', command });
  let out = '';
  s.onData((d) => (out += d.toString('utf8')));
  await new Promise<void>((resolve) => s.onExit(() => resolve()));
  return out;
}

/** Polls until two reads `gapMs` apart agree: the quantity stopped moving. */
async function settled(read: () => Promise<number> | number, what: string, gapMs = 2000, timeoutMs = 90_000): Promise<number> {
  let last = await read();
  return eventually(
    async () => {
      await new Promise((r) => setTimeout(r, gapMs));
      const now = await read();
      const same = now === last;
      last = now;
      return same ? now : undefined;
    },
    what,
    timeoutMs,
  );
}

describeOnRealNodes('security: H3 terminal back-pressure through a real exec', () => {
  let stack: TestStack;
  let counting: CountingExec;
  let plain: ExecPort;
  beforeAll(async () => {
    stack = await startRealStack({ interactive: { terminals: true, terminal: { highWaterBytes: HIGH } } }, (ns) => {
      plain = createKubeExecPort(ns.kc);
      counting = new CountingExec(plain);
      return { interactive: { exec: counting } };
    });
  });
  afterAll(async () => stack?.stop(), 120_000);

  it('a fast writer and a stalled browser: the exec is paused, the operator holds a bounded amount, the writer blocks', async () => {
    const id = '90701';
    const { job, term } = await openRealTerminal(stack, id, { cols: 120, rows: 40 });

    // The writer: 64 KiB blocks as fast as the terminal takes them, counting blocks in a file.
    const writer = `n=0; while :; do head -c ${BLOCK} /dev/zero | tr '\\0' x; n=$((n+1)); echo $n > /tmp/blocks; done\n`;
    term.send({ call: SHELL_CALL, streamId: 'w', payload: { type: 'input', data: writer } });
    await eventually(() => counting.received > 4 * HIGH, 'output flowing', 60_000);
    // The browser stops reading.
    term.ws.pause();

    await eventually(() => counting.paused, 'the operator paused the exec', 60_000);
    const received = await settled(() => counting.received, 'the operator to stop taking output');
    const pod = podName(`j-${id}`, 0);
    const blocks = () => execOnce(plain, stack.ns.name, pod, ['cat', '/tmp/blocks']).then((t) => Number(t.trim()) || 0);
    const written = (await settled(blocks, 'the container writer to block')) * BLOCK;
    const bound = HIGH + 16 * BLOCK + kernelBufferBytes();
    process.stdout.write(
      `H3 real exec: the operator took ${(received / 2 ** 20).toFixed(1)} MiB off the exec, bound ${(bound / 2 ** 20).toFixed(1)} MiB; the container wrote ${(written / 2 ** 20).toFixed(1)} MiB before blocking\n`,
    );
    // Bounded on the operator's side, whatever the container would write.
    expect(counting.pauses).toBeGreaterThan(0);
    expect(received).toBeLessThan(bound);
    expect(term.ws.readyState).toBe(term.ws.OPEN);
    expect(stack.logs.some((l) => l.includes('Closed a terminal whose peer stopped reading'))).toBe(false);

    // The browser reads again: the exec resumes and output flows.
    term.ws.resume();
    await eventually(() => counting.received > received + 4 * HIGH, 'output after the browser read again', 60_000);
    term.ws.terminate();
    await job.finish();
  }, 300_000);
});
