// The ExecPort: a terminal in a rank's container through the Kubernetes exec API over WebSocket
// (`GET /api/v1/namespaces/{ns}/pods/{pod}/exec`, subprotocol v5.channel.k8s.io or v4). Every
// binary frame starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the exit Status (JSON),
// 4 terminal resize (`{"Width":c,"Height":r}`), 255 close (v5). Unit tests fake the port; the
// integration test points the real implementation at a loopback stand-in (kwok has no kubelet).
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

export interface ExecStream {
  /** Sends stdin; `cb` runs once the bytes have left this process (for input back-pressure). */
  write(data: Buffer | string, cb?: () => void): void;
  /** Bytes of stdin queued in this process, not yet handed to the connection. */
  readonly bufferedAmount: number;
  /** Stops reading output (the TCP window to the apiserver closes), and reads again. */
  pause(): void;
  resume(): void;
  resize(cols: number, rows: number): void;
  /** Output of the terminal (stdout and, without a TTY, stderr). */
  onData(cb: (data: Buffer) => void): void;
  /** The exec ended: its Status message (empty on success) or the transport's reason. */
  onExit(cb: (reason: string) => void): void;
  close(): void;
}

export interface ExecPort {
  open(req: ExecRequest): Promise<ExecStream>;
}

/** A login shell where there is one, as UCloud's backends do: bash, zsh, fish, then sh. */
export const SHELL_COMMAND = [
  'sh',
  '-c',
  'TERM=xterm-256color; export TERM; ' +
    'if command -v bash >/dev/null 2>&1; then exec bash -l; ' +
    'elif command -v zsh >/dev/null 2>&1; then exec zsh -l; ' +
    'elif command -v fish >/dev/null 2>&1; then exec fish -l; ' +
    'else exec sh -l; fi',
];

export function execPath(req: ExecRequest): string {
  const q = new URLSearchParams({ container: req.container, stdin: 'true', stdout: 'true', stderr: 'false', tty: 'true' });
  for (const c of req.command) q.append('command', c);
  return `/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/exec?${q.toString()}`;
}

const frame = (channel: number, data: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8')]);

/** Wraps a connected exec WebSocket in an ExecStream. */
export function execStreamOver(ws: WebSocket): ExecStream {
  const dataCbs: Array<(d: Buffer) => void> = [];
  const exitCbs: Array<(r: string) => void> = [];
  let exited = false;
  const exit = (reason: string) => {
    if (exited) return;
    exited = true;
    for (const cb of exitCbs) cb(reason);
  };
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const buf = isBinary ? raw : Buffer.from(raw);
    if (!buf.length) return;
    const ch = buf[0]!;
    const body = buf.subarray(1);
    if (ch === CHANNEL.stdout || ch === CHANNEL.stderr) {
      if (body.length) for (const cb of dataCbs) cb(body);
    } else if (ch === CHANNEL.error) {
      let reason = body.toString('utf8');
      try {
        const status = JSON.parse(reason) as { status?: string; message?: string };
        reason = status.status === 'Success' ? '' : (status.message ?? reason);
      } catch {
        /* keep the raw text */
      }
      exit(reason);
    }
  });
  ws.on('close', () => exit(''));
  ws.on('error', (e) => exit(e.message));
  return {
    write: (data, cb) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame(CHANNEL.stdin, data), () => cb?.());
      else cb?.();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    // ws stops reading its socket: the kernel's buffers fill and TCP flow control holds the
    // apiserver (and behind it the kubelet and the process) back.
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    resize: (cols, rows) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame(CHANNEL.resize, JSON.stringify({ Width: cols, Height: rows })));
    },
    onData: (cb) => void dataCbs.push(cb),
    onExit: (cb) => void exitCbs.push(cb),
    close: () => {
      if (ws.protocol === 'v5.channel.k8s.io' && ws.readyState === WebSocket.OPEN) ws.send(Buffer.from([CHANNEL.close, CHANNEL.stdin]));
      ws.close();
      // A peer that never answers the close handshake must not keep the connection.
      setTimeout(() => ws.terminate(), 5000).unref();
    },
  };
}

/** ExecPort over the apiserver of `kc`; `server` replaces the cluster URL (tests: a stand-in). */
export function createKubeExecPort(kc: KubeConfig, opts: { server?: string } = {}): ExecPort {
  return {
    async open(req) {
      const server = opts.server ?? kc.getCurrentCluster()?.server;
      if (!server) throw new Error('the kubeconfig names no cluster');
      const url = new URL(execPath(req), server.endsWith('/') ? server : `${server}/`);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const options: WebSocket.ClientOptions = { perMessageDeflate: false, handshakeTimeout: 30_000 };
      await kc.applyToHTTPSOptions(options);
      if (url.protocol === 'ws:') delete (options as { agent?: unknown }).agent;
      const ws = new WebSocket(url, EXEC_PROTOCOLS, options);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => {
          reject(new Error(`exec refused with HTTP ${res.statusCode}`));
          res.resume();
          ws.terminate();
        });
      });
      return execStreamOver(ws);
    },
  };
}
