// One authenticated follow WebSocket from UCloud/Core (`jobs.provider.{id}.follow`). Core may run
// several sessions over one socket (Kotlin pools connections) or one per socket (core2, which
// never cancels and just closes). Every session's messages carry its init request's streamId in
// the envelope and the session's own id in the payload; `cancel` names that id. A session ends
// with a `response` frame on its init stream; a closed socket ends all of its sessions.
import type { WebSocket } from 'ws';
import type { Logger } from '../../observability/log.js';
import type { JobStore } from '../job-store.js';
import { errorFrame, messageFrame, parseFollowRequest, parseRequestFrame, PING_FRAME, responseFrame, type FollowResponse } from './protocol.js';
import { SendGate } from './send-gate.js';
import { FollowSession, type FollowDeps } from './session.js';

export interface FollowServerOptions extends FollowDeps {
  providerId: string;
  jobs: JobStore;
  logger: Logger;
  highWaterBytes?: number;
  lowWaterBytes?: number;
  /** Keep-alive `{"ping":"pong"}` interval (0: none). */
  keepAliveMs?: number;
}

/** Sessions of every follow socket of this process, by session id (cancel may come on another socket). */
export class FollowRegistry {
  readonly sessions = new Map<string, FollowSession>();
  /** The send gate of every open follow socket. */
  readonly gates = new Set<SendGate>();
  get openStreams(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.openStreams;
    return n;
  }
  /** The largest send buffer any open follow socket has had (bytes): what back-pressure bounds. */
  get peakBufferedBytes(): number {
    let peak = 0;
    for (const g of this.gates) peak = Math.max(peak, g.peakBuffered);
    return peak;
  }
  stopAll(): void {
    for (const s of [...this.sessions.values()]) s.stop('closed');
  }
}

const endPayload = (sessionId: string): FollowResponse => ({ streamId: sessionId, rank: 0, stdout: null, stderr: null });

export function serveFollowSocket(ws: WebSocket, registry: FollowRegistry, opts: FollowServerOptions): void {
  const call = `jobs.provider.${opts.providerId}.follow`;
  const gate = new SendGate(ws, opts.highWaterBytes, opts.lowWaterBytes);
  registry.gates.add(gate);
  const mine = new Set<FollowSession>();
  const log = opts.logger;

  const keepAlive = opts.keepAliveMs ? setInterval(() => gate.send(PING_FRAME), opts.keepAliveMs) : undefined;
  keepAlive?.unref();

  const startSession = async (requestStream: string, jobId: string) => {
    let cr;
    try {
      cr = await opts.jobs.get(jobId);
    } catch (e) {
      log.warn('Follow: could not read the job', { jobId, err: e });
      gate.send(errorFrame(requestStream, 502, 'the cluster is not available right now', 'CLUSTER_UNAVAILABLE'));
      return;
    }
    if (!cr) {
      gate.send(errorFrame(requestStream, 404, `unknown job ${jobId}`, 'UNKNOWN_JOB'));
      return;
    }
    if (ws.readyState !== ws.OPEN) return;
    const session = new FollowSession(cr, gate, opts, (reason) => {
      registry.sessions.delete(session.id);
      mine.delete(session);
      log.info('Follow session ended', { jobId, sessionId: session.id, reason });
      gate.send(responseFrame(requestStream, 200, endPayload(session.id)));
    });
    session.onMessage = (payload) => gate.send(messageFrame(requestStream, payload));
    registry.sessions.set(session.id, session);
    mine.add(session);
    log.info('Follow session started', { jobId, sessionId: session.id, ranks: cr.spec.replicas });
    // Announce the session id at once, so Core can cancel before any output: an empty message of
    // rank 0 (app-kubernetes used rank -1, which the spec does not allow; ADR 0007).
    session.onMessage({ streamId: session.id, rank: 0, stdout: '', stderr: null });
    session.start();
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const frame = parseRequestFrame(data.toString('utf8'));
    if (!frame) return; // keep-alives and anything unparseable are dropped
    if (frame.call !== call) {
      gate.send(errorFrame(frame.streamId, 404, `unknown call ${frame.call.slice(0, 128)}`, 'NOT_FOUND'));
      return;
    }
    const req = parseFollowRequest(frame.payload);
    if (!req.ok) {
      gate.send(errorFrame(frame.streamId, 400, req.why, 'INVALID_REQUEST'));
      return;
    }
    if (req.value.type === 'init') {
      void startSession(frame.streamId, req.value.job.id);
    } else {
      // Cancelling a session that already ended (or never existed) is not an error.
      registry.sessions.get(req.value.streamId)?.stop('cancelled');
      gate.send(responseFrame(frame.streamId, 200, endPayload(req.value.streamId)));
    }
  });

  ws.on('close', () => {
    if (keepAlive) clearInterval(keepAlive);
    gate.clear();
    registry.gates.delete(gate);
    for (const s of [...mine]) s.stop('closed');
  });
  ws.on('error', (e) => log.debug('Follow socket error', { err: e }));
}
