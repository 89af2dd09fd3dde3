// security: H3 — terminal back-pressure. A shell that writes as fast as it can to a browser that
// has stopped reading must not make the operator buffer without limit: the exec stream is paused
// while the browser's socket is backed up and resumed once it drains, and a socket whose queue
// passes the byte cap anyway is closed. The same for input a process does not read. A real `ws`
// client on loopback; the assertions are on bytes (produced, queued), never on time.
import { readFileSync } from 'node:fs';
import type { ExecPort, ExecStream } from '../../../src/adapter/sessions/exec.js';
import { SessionStore } from '../../../src/adapter/sessions/store.js';
import { eventually } from '../../support/harness.js';
import { FakeKube } from '../../support/fake-kube.js';
import { FrameClient } from '../../support/ws-frames.js';
import { MemorySecrets } from '../adapter/memory-secrets.js';
import { makeKeys, NS, PROVIDER } from '../adapter/support.js';
import { RUNNING_JOB as job, startTerminalGateway, type TerminalGateway } from '../adapter/terminal-gateway.js';

const CHUNK = 64 * 1024;
const HIGH = 256 * 1024;
const CAP = 4 * 1024 * 1024;
/** Without back-pressure the producer would run to this; it stops the test from eating the machine. */
const RUNAWAY = 160 * 1024 * 1024;

/** What loopback TCP can hold between the two ends whatever the reader does (kernel buffers). */
function kernelBufferBytes(): number {
  const max = (f: string) => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[2] ?? 0);
  try {
    return max('/proc/sys/net/ipv4/tcp_wmem') + max('/proc/sys/net/ipv4/tcp_rmem');
  } catch {
    return 16 * 1024 * 1024;
  }
}

/** A shell that prints as fast as it is let, and whose stdin is read only when the test says. */
class FloodExec implements ExecPort {
  produced = 0;
  paused = false;
  /** A stream that ignores pause() (frames already parsed keep coming): only the cap can stop it. */
  ignorePause = false;
  /** No output at all (the input test). */
  quiet = false;
  stdinQueued = 0;
  stdinTotal = 0;
  stdinCallbacks: Array<() => void> = [];
  closed = false;
  maxStdinQueued = 0;
  async open(): Promise<ExecStream> {
    let data: (d: Buffer) => void = () => undefined;
    const chunk = Buffer.alloc(CHUNK, 'x');
    const pump = () => {
      if (this.closed || this.produced >= RUNAWAY) return;
      if (this.paused && !this.ignorePause) return;
      this.produced += chunk.length;
      data(chunk);
      setImmediate(pump);
    };
    const stdinQueued = () => this.stdinQueued;
    return {
      write: (d, cb) => {
        this.stdinQueued += Buffer.byteLength(d);
        this.stdinTotal += Buffer.byteLength(d);
        this.maxStdinQueued = Math.max(this.maxStdinQueued, this.stdinQueued);
        if (cb) this.stdinCallbacks.push(cb);
      },
      get bufferedAmount() {
        return stdinQueued();
      },
      pause: () => void (this.paused = true),
      resume: () => {
        if (this.quiet) return;
        const was = this.paused;
        this.paused = false;
        if (was) setImmediate(pump);
      },
      resize: () => undefined,
      onData: (cb) => {
        data = cb;
        setImmediate(pump);
      },
      onExit: () => undefined,
      close: () => void (this.closed = true),
    };
  }
  /** The process reads everything queued on its stdin. */
  drainStdin(): void {
    this.stdinQueued = 0;
    const cbs = this.stdinCallbacks;
    this.stdinCallbacks = [];
    for (const cb of cbs) cb();
  }
}

describe('security: H3 terminal output and input back-pressure', () => {
  let gw: TerminalGateway;
  let exec: FloodExec;
  let store: SessionStore;
  const call = `jobs.compute.${PROVIDER}.shell.open`;

  beforeEach(async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', job);
    exec = new FloodExec();
    store = new SessionStore(new MemorySecrets(), NS, 600);
    gw = await startTerminalGateway({
      publicKey: (await makeKeys()).der,
      kube,
      exec,
      sessions: store,
      terminal: { flow: { highWaterBytes: HIGH, maxBufferedBytes: CAP } },
    });
  });
  afterEach(async () => {
    await gw.close();
  });

  async function openTerminal(): Promise<FrameClient> {
    const { identifier } = await store.open(job, 'SHELL', 0);
    const t = await FrameClient.connect(gw.url);
    t.send({ call, streamId: 's', payload: { type: 'initialize', sessionIdentifier: identifier } });
    await t.waitFor((f) => f.streamId === 's' && f.payload?.type === 'initialize', 'initialize');
    return t;
  }

  it('pauses the exec while the browser does not read, resumes when it reads again', async () => {
    const t = await openTerminal();
    // The browser stops reading: nothing more is taken off its TCP socket.
    t.ws.pause();
    await eventually(() => exec.paused, 'the exec paused', 60_000);
    expect(gw.gateway.shells.size).toBe(1);
    // Give the producer every chance to run on: it must not (its pump stops while paused).
    const atPause = exec.produced;
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    expect(exec.produced).toBe(atPause);
    // Bounded: the high-water mark, a chunk in flight, plus what the kernel's buffers took.
    const bound = HIGH + 4 * CHUNK + kernelBufferBytes();
    expect(exec.produced).toBeLessThan(bound);
    expect(exec.produced).toBeLessThan(RUNAWAY);
    expect(t.closed).toBe(false);

    // The browser reads again: the exec resumes and more output flows.
    t.ws.resume();
    await eventually(() => exec.produced > atPause + 4 * HIGH, 'output after the drain', 60_000);
    await t.close();
  });

  it('closes a socket whose queue passes the byte cap when the stream keeps producing', async () => {
    exec.ignorePause = true;
    const t = await openTerminal();
    t.ws.pause();
    await eventually(() => t.closed || exec.closed, 'the overflowing terminal closed', 60_000);
    expect(exec.closed).toBe(true);
    // It produced the cap plus what the kernel held, not the runaway amount.
    expect(exec.produced).toBeLessThan(CAP + 4 * CHUNK + kernelBufferBytes());
    // The paused client never reads the server's close, so its socket would stay open in the Jest
    // worker for the rest of the run: end it from this side.
    t.ws.terminate();
  });

  it('stops reading the browser while the process does not read its stdin', async () => {
    exec.paused = true; // no output in this test
    exec.quiet = true;
    const t = await openTerminal();
    const frame = JSON.stringify({ call, streamId: 's', payload: { type: 'input', data: 'y'.repeat(CHUNK) } });
    // The browser sends 16 MiB of input the process never reads.
    for (let i = 0; i < 256; i++) t.ws.send(frame);
    await eventually(() => exec.stdinQueued > HIGH, 'input queued at the exec', 5000);
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    // The server stopped taking input at the high-water mark (plus what it had already read).
    expect(exec.maxStdinQueued).toBeLessThan(CAP);
    expect(t.closed).toBe(false);
    const before = exec.stdinTotal;
    expect(before).toBeLessThan(256 * CHUNK);
    exec.drainStdin();
    await eventually(() => exec.stdinTotal > before, 'input resumes after the process read', 20_000);
    // A paused server does not read the close handshake either: the stall timer ends it.
    t.ws.terminate();
  });
});
