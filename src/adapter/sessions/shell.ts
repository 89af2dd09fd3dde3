// The browser's terminal socket (`/ucloud/{providerId}/websocket`, call
// `jobs.compute.{providerId}.shell.open`; docs/ucloud-wire.md, terminal). Public: the first request must be
//   {type:"initialize", sessionIdentifier, cols, rows}
// naming a live SHELL session from interactiveSession; it starts an exec into that rank's
// container and answers {type:"initialize"}, then streams output as {type:"data", data} messages
// on the initialize request's streamId. {type:"input", data} and {type:"resize", cols, rows} are
// answered {type:"ack"}. One terminal per socket; it ends when the shell exits, the socket closes,
// the job ends or the gateway shuts down. A socket not initialised in time is closed.
import { z } from 'zod';
import type { WebSocket } from 'ws';
import { podName } from '../../api/v1alpha1/names.js';
import { isFinal } from '../../api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../../api/v1alpha1/names.js';
import type { KubePort } from '../../k8s/kube-port.js';
import type { Logger } from '../../observability/log.js';
import { errorFrame, messageFrame, parseRequestFrame, responseFrame } from '../follow/protocol.js';
import { SendGate } from '../follow/send-gate.js';
import type { JobStore } from '../job-store.js';
import { Utf8Decoder } from '../follow/text.js';
import { SHELL_COMMAND, type ExecPort, type ExecStream } from './exec.js';
import type { SessionStore } from './store.js';

export interface Closable {
  close(): void;
}
export type ShellRegistry = Set<Closable>;

export interface ShellServerOptions {
  providerId: string;
  namespace: string;
  kube: KubePort;
  jobs: JobStore;
  sessions: SessionStore;
  exec: ExecPort;
  logger: Logger;
  now: () => Date;
  /** Close a socket that has not initialised a terminal within this (IM2: 30 s). */
  initTimeoutMs?: number;
  /** Back-pressure (both directions): the far side is paused above `highWaterBytes` queued and
   *  resumed at a quarter of it; a socket with more than `maxBufferedBytes` queued is closed. */
  flow?: TerminalFlow;
  /** Called when a terminal is closed for exceeding `flow.maxBufferedBytes` (a metric). */
  onOverflow?: (direction: 'input' | 'output') => void;
  /** Called once, when the socket has a terminal or is closed without one (pending-socket caps). */
  onSettled?: () => void;
  /** Identifiers recently found unknown: refused without asking the apiserver again. */
  unknown?: NegativeCache;
  /** How often a running terminal checks that its job still runs (it ends with the job). */
  jobCheckMs?: number;
}

/** A bounded set of keys, each forgotten after `ttlMs`. */
export class NegativeCache {
  private readonly until = new Map<string, number>();
  constructor(
    private readonly ttlMs = 30_000,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}
  has(key: string): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t > this.now()) return true;
    this.until.delete(key);
    return false;
  }
  add(key: string): void {
    if (this.until.size >= this.max) this.until.delete(this.until.keys().next().value!);
    this.until.set(key, this.now() + this.ttlMs);
  }
}

export interface TerminalFlow {
  highWaterBytes: number;
  maxBufferedBytes: number;
  /** A terminal whose input has been paused this long (the process does not read it) is closed. */
  inputStallMs?: number;
}
export const DEFAULT_TERMINAL_FLOW: TerminalFlow = { highWaterBytes: 256 * 1024, maxBufferedBytes: 4 * 1024 * 1024 };

const Dim = z.number().int().min(1).max(1000);
const ShellRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('initialize'), sessionIdentifier: z.string().max(256), cols: Dim.default(80), rows: Dim.default(24) }),
  z.object({ type: z.literal('input'), data: z.string().max(1024 * 1024) }),
  z.object({ type: z.literal('resize'), cols: Dim, rows: Dim }),
]);

export function serveShellSocket(ws: WebSocket, registry: ShellRegistry, opts: ShellServerOptions): void {
  const call = `jobs.compute.${opts.providerId}.shell.open`;
  const flow = opts.flow ?? DEFAULT_TERMINAL_FLOW;
  const gate = new SendGate(ws, flow.highWaterBytes, Math.floor(flow.highWaterBytes / 4));
  const log = opts.logger;
  let exec: ExecStream | undefined;
  let initializing = false;
  let outStream: string | undefined;
  let inputPaused = false;
  let inputStall: NodeJS.Timeout | undefined;
  let overflowed = false;
  const overflow = (direction: 'input' | 'output') => {
    if (overflowed) return;
    overflowed = true;
    log.warn('Closed a terminal whose peer stopped reading', { direction, limitBytes: flow.maxBufferedBytes });
    opts.onOverflow?.(direction);
    exec?.close();
    // terminate, not close: a close frame would queue behind the bytes nobody reads.
    ws.terminate();
  };

  const self: Closable = { close: () => ws.close(1001, 'server shutting down') };
  registry.add(self);
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    opts.onSettled?.();
  };
  let jobCheck: NodeJS.Timeout | undefined;
  const initTimer = setTimeout(() => {
    if (!exec) ws.close(4408, 'not initialised in time');
  }, opts.initTimeoutMs ?? 5_000);
  initTimer.unref();

  const initialize = async (streamId: string, identifier: string, cols: number, rows: number) => {
    initializing = true;
    // Single use: the first initialize consumes the session; a replay finds nothing.
    const session = opts.unknown?.has(identifier) ? undefined : await opts.sessions.consume(identifier).catch(() => undefined);
    if (!session) opts.unknown?.add(identifier);
    if (!session || session.type !== 'SHELL') {
      gate.send(errorFrame(streamId, 401, 'unknown or expired session', 'INVALID_SESSION'));
      ws.close(4401, 'invalid session');
      return;
    }
    const job = await opts.jobs.get(session.jobId).catch(() => undefined);
    // The job must still be the one the session was opened for, with the same owner.
    if (!job || isFinal(job.status?.state) || job.spec.owner.createdBy !== session.owner.createdBy || job.spec.owner.project !== session.owner.project) {
      gate.send(errorFrame(streamId, 404, 'the job of this session is not running', 'JOB_NOT_RUNNING'));
      ws.close(4404, 'job not running');
      return;
    }
    try {
      exec = await opts.exec.open({
        namespace: opts.namespace,
        pod: podName(job.metadata.name, session.rank),
        container: USER_CONTAINER,
        command: SHELL_COMMAND,
      });
    } catch (e) {
      log.warn('Could not start a terminal', { jobId: session.jobId, rank: session.rank, err: e });
      gate.send(errorFrame(streamId, 502, 'could not start a terminal in the job', 'EXEC_FAILED'));
      ws.close(1011, 'exec failed');
      return;
    }
    if (ws.readyState !== ws.OPEN) {
      exec.close();
      return;
    }
    outStream = streamId;
    settle();
    log.info('Terminal opened', { jobId: session.jobId, rank: session.rank });
    // The terminal ends with its job (terminated, expired, failed), whichever replica saw it end.
    jobCheck = setInterval(() => {
      void opts.jobs.get(session.jobId).then(
        (j) => {
          if (!j || isFinal(j.status?.state) || j.spec.terminationRequestedAt) {
            log.info('Terminal closed: its job ended', { jobId: session.jobId, rank: session.rank });
            ws.close(4410, 'job ended');
          }
        },
        () => undefined,
      );
    }, opts.jobCheckMs ?? 10_000);
    jobCheck.unref();
    exec.resize(cols, rows);
    const decoder = new Utf8Decoder();
    const stream = exec;
    let outputPaused = false;
    exec.onData((data) => {
      const text = decoder.push(data);
      if (text) gate.send(messageFrame(streamId, { type: 'data', data: text }));
      // A browser that stops reading: stop reading the exec until its socket has drained. Frames
      // the exec connection had already parsed still arrive; past the cap the socket is closed.
      if (ws.bufferedAmount > flow.maxBufferedBytes) return overflow('output');
      if (gate.blocked && !outputPaused) {
        outputPaused = true;
        stream.pause();
        gate.whenDrained(() => {
          outputPaused = false;
          stream.resume();
        });
      }
    });
    exec.onExit((reason) => {
      log.info('Terminal ended', { jobId: session.jobId, rank: session.rank, reason: reason || 'exit' });
      gate.send(responseFrame(streamId, 200, { type: 'data', data: '' }));
      ws.close(1000, 'terminal ended');
    });
    gate.send(messageFrame(streamId, { type: 'initialize' }));
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const frame = parseRequestFrame(data.toString('utf8'));
    if (!frame) return;
    if (frame.call !== call) {
      gate.send(errorFrame(frame.streamId, 404, `unknown call ${frame.call.slice(0, 128)}`, 'NOT_FOUND'));
      return;
    }
    const parsed = ShellRequestSchema.safeParse(frame.payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      gate.send(errorFrame(frame.streamId, 400, `payload.${issue.path.join('.')}: ${issue.message}`, 'INVALID_REQUEST'));
      return;
    }
    const req = parsed.data;
    if (req.type === 'initialize') {
      if (initializing) {
        gate.send(errorFrame(frame.streamId, 400, 'this socket already has a terminal', 'ALREADY_INITIALIZED'));
        return;
      }
      void initialize(frame.streamId, req.sessionIdentifier, req.cols, req.rows);
      return;
    }
    if (!exec) {
      gate.send(errorFrame(frame.streamId, 400, 'initialize a terminal first', 'NOT_INITIALIZED'));
      return;
    }
    if (req.type === 'input') {
      const stream = exec;
      // A process that does not read its stdin: stop reading the browser until the exec
      // connection has taken the input queued for it.
      stream.write(req.data, () => {
        if (inputPaused && stream.bufferedAmount <= flow.highWaterBytes / 4) {
          inputPaused = false;
          clearTimeout(inputStall);
          ws.resume();
        }
      });
      if (stream.bufferedAmount > flow.maxBufferedBytes) return overflow('input');
      if (stream.bufferedAmount > flow.highWaterBytes && !inputPaused) {
        inputPaused = true;
        ws.pause();
        // A paused socket reads nothing, not even the browser's close: a process that never takes
        // its input again must not hold the terminal for ever.
        clearTimeout(inputStall);
        inputStall = setTimeout(() => inputPaused && overflow('input'), flow.inputStallMs ?? 60_000);
        inputStall.unref();
      }
    } else exec.resize(req.cols, req.rows);
    if (frame.streamId !== outStream) gate.send(responseFrame(frame.streamId, 200, { type: 'ack' }));
    else gate.send(messageFrame(frame.streamId, { type: 'ack' }));
  });

  ws.on('close', () => {
    settle();
    clearTimeout(initTimer);
    clearTimeout(inputStall);
    clearInterval(jobCheck);
    registry.delete(self);
    gate.clear();
    exec?.close();
  });
  ws.on('error', (e) => log.debug('Terminal socket error', { err: e }));
}
