// The browser's terminal socket (`/ucloud/{providerId}/websocket`, call
// `jobs.compute.{providerId}.shell.open`; ucloud-reference.md §2). Public: the first request must be
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
import { USER_CONTAINER } from '../../controller/desired/pod-builder.js';
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
}

const Dim = z.number().int().min(1).max(1000);
const ShellRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('initialize'), sessionIdentifier: z.string().max(256), cols: Dim.default(80), rows: Dim.default(24) }),
  z.object({ type: z.literal('input'), data: z.string().max(1024 * 1024) }),
  z.object({ type: z.literal('resize'), cols: Dim, rows: Dim }),
]);

export function serveShellSocket(ws: WebSocket, registry: ShellRegistry, opts: ShellServerOptions): void {
  const call = `jobs.compute.${opts.providerId}.shell.open`;
  const gate = new SendGate(ws);
  const log = opts.logger;
  let exec: ExecStream | undefined;
  let initializing = false;
  let outStream: string | undefined;

  const self: Closable = { close: () => ws.close(1001, 'server shutting down') };
  registry.add(self);
  const initTimer = setTimeout(() => {
    if (!exec) ws.close(4408, 'not initialised in time');
  }, opts.initTimeoutMs ?? 30_000);
  initTimer.unref();

  const initialize = async (streamId: string, identifier: string, cols: number, rows: number) => {
    initializing = true;
    const session = await opts.sessions.lookup(identifier).catch(() => undefined);
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
    log.info('Terminal opened', { jobId: session.jobId, rank: session.rank });
    exec.resize(cols, rows);
    const decoder = new Utf8Decoder();
    exec.onData((data) => {
      const text = decoder.push(data);
      if (text) gate.send(messageFrame(streamId, { type: 'data', data: text }));
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
    if (req.type === 'input') exec.write(req.data);
    else exec.resize(req.cols, req.rows);
    if (frame.streamId !== outStream) gate.send(responseFrame(frame.streamId, 200, { type: 'ack' }));
    else gate.send(messageFrame(frame.streamId, { type: 'ack' }));
  });

  ws.on('close', () => {
    clearTimeout(initTimer);
    registry.delete(self);
    gate.clear();
    exec?.close();
  });
  ws.on('error', (e) => log.debug('Terminal socket error', { err: e }));
}
