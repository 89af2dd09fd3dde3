// The adapter's WebSocket endpoints, on the adapter's HTTP server:
//   /ucloud/jobs.provider.{providerId}/websocket  follow, for UCloud/Core: the upgrade must carry
//       a valid UCloud/Core bearer token (401 otherwise, before any WebSocket exists);
//   /ucloud/{providerId}/websocket                 terminal sessions, for browsers: public, every
//       session authorised by the unguessable identifier interactiveSession handed out.
// Anything else is refused with 404. Closing the gateway closes every socket and aborts every
// log stream and exec behind them.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { OperatorConfig } from '../config.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { AuthError, bearerToken, createCoreTokenVerifier, type CoreTokenVerifier } from './auth.js';
import { FollowRegistry, serveFollowSocket } from './follow/connection.js';
import type { LogSource } from './follow/log-source.js';
import { ensureLogReader } from './follow/log-reader.js';
import { JobStore } from './job-store.js';
import type { ExecPort } from './sessions/exec.js';
import { NegativeCache, serveShellSocket, type ShellRegistry, type TerminalFlow } from './sessions/shell.js';
import type { SessionStore } from './sessions/store.js';
import type { UtilizationHub } from './follow/utilization-hub.js';

export interface WebSocketGatewayDeps {
  config: OperatorConfig;
  kube: KubePort;
  logger: Logger;
  metrics?: OperatorMetrics;
  logs: LogSource;
  /** Terminals: both or neither (a SHELL session is looked up in `sessions`, run through `exec`). */
  exec?: ExecPort;
  sessions?: SessionStore;
  verifyToken?: CoreTokenVerifier;
  /** Follow tunables (tests shorten the poll). */
  follow?: { pollMs?: number; highWaterBytes?: number; lowWaterBytes?: number; keepAliveMs?: number };
  /** Utilization charts on follow (docs/adr/0027); none without it. */
  utilization?: UtilizationHub;
  /** Terminal tunables: back-pressure and the initialize timeout. */
  terminal?: { flow?: TerminalFlow; initTimeoutMs?: number; maxPending?: number; maxPendingPerClient?: number; jobCheckMs?: number };
  now?: () => Date;
}

export interface WebSocketGateway {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly follow: FollowRegistry;
  readonly shells: ShellRegistry;
  close(): Promise<void>;
}

const MAX_FRAME = 1024 * 1024;

function refuse(socket: Duplex, status: number, reason: string, why: string, errorCode: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ why, errorCode });
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...extra,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head}\r\n\r\n${body}`);
}

export function createWebSocketGateway(deps: WebSocketGatewayDeps): WebSocketGateway {
  const { config, logger } = deps;
  const followPath = `/ucloud/jobs.provider.${config.providerId}/websocket`;
  const shellPath = `/ucloud/${config.providerId}/websocket`;
  const verify = deps.verifyToken ?? createCoreTokenVerifier(config);
  const jobs = new JobStore(deps.kube, config.namespace);
  const follow = new FollowRegistry();
  const shells: ShellRegistry = new Set();
  const log = logger.child({ component: 'websocket' });
  // Terminal sockets are public: each one not yet initialised costs a socket and (once) a Secret
  // read, so their number is capped, in total and per client, and unknown identifiers are cached.
  const unknownSessions = new NegativeCache();
  const pendingByClient = new Map<string, number>();
  let pendingTotal = 0;
  const maxPending = deps.terminal?.maxPending ?? 256;
  const maxPendingPerClient = deps.terminal?.maxPendingPerClient ?? 8;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });
  // Tells Kotlin Core's connection pool that the socket is authenticated, so frames need no bearer.
  wss.on('headers', (headers, req) => {
    if (pathOf(req) === followPath) headers.push('ucloud-no-bearer: true');
  });

  const onFollow = (ws: WebSocket) =>
    serveFollowSocket(ws, follow, {
      providerId: config.providerId,
      kube: deps.kube,
      jobs,
      namespace: config.namespace,
      logs: deps.logs,
      logger: log.child({ endpoint: 'follow' }),
      pollMs: deps.follow?.pollMs ?? 2000,
      highWaterBytes: deps.follow?.highWaterBytes,
      lowWaterBytes: deps.follow?.lowWaterBytes,
      keepAliveMs: deps.follow?.keepAliveMs ?? 30_000,
      ensureLogReader: (job, rank) => ensureLogReader(deps.kube, job, rank, config),
      utilization: deps.utilization,
    });

  /** The client of a terminal socket: the address the nearest proxy saw, else the peer's. */
  function clientOf(req: IncomingMessage): string {
    const xff = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(xff) ? xff.join(',') : (xff ?? ''))
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    return (hops[hops.length - 1] ?? req.socket.remoteAddress ?? 'unknown').slice(0, 64);
  }

  function pathOf(req: IncomingMessage): string {
    try {
      return new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return '';
    }
  }

  return {
    follow,
    shells,
    handleUpgrade(req, socket, head) {
      socket.on('error', () => undefined);
      const path = pathOf(req);
      if (path === followPath) {
        const token = bearerToken(req.headers.authorization);
        const reject = (reason: string) => {
          deps.metrics?.adapterRejected.inc({ reason: 'unauthenticated' });
          log.warn('Rejected unauthenticated follow socket', { reason });
          refuse(socket, 401, 'Unauthorized', 'a valid UCloud/Core bearer token is required', 'UNAUTHENTICATED');
        };
        if (!token) return reject(req.headers.authorization ? 'malformed authorization header' : 'no bearer token');
        verify(token).then(
          () => wss.handleUpgrade(req, socket, head, onFollow),
          (e: unknown) => reject(e instanceof AuthError ? e.message : 'verification failed'),
        );
        return;
      }
      if (path === shellPath) {
        const { exec, sessions } = deps;
        if (!exec || !sessions) return refuse(socket, 404, 'Not Found', 'terminal sessions are not supported by this provider', 'SESSIONS_NOT_SUPPORTED');
        const client = clientOf(req);
        const mine = pendingByClient.get(client) ?? 0;
        if (pendingTotal >= maxPending || mine >= maxPendingPerClient) {
          deps.metrics?.adapterRejected.inc({ reason: 'terminal_pending_cap' });
          return refuse(socket, 503, 'Service Unavailable', 'too many terminal sockets waiting to initialise', 'TOO_MANY_PENDING', { 'retry-after': '5' });
        }
        pendingTotal++;
        pendingByClient.set(client, mine + 1);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          pendingTotal--;
          const n = (pendingByClient.get(client) ?? 1) - 1;
          if (n > 0) pendingByClient.set(client, n);
          else pendingByClient.delete(client);
        };
        socket.once('close', release);
        wss.handleUpgrade(req, socket, head, (ws) =>
          serveShellSocket(ws, shells, {
            providerId: config.providerId,
            namespace: config.namespace,
            kube: deps.kube,
            jobs,
            sessions,
            exec,
            logger: log.child({ endpoint: 'shell' }),
            now: deps.now ?? (() => new Date()),
            flow: deps.terminal?.flow,
            initTimeoutMs: deps.terminal?.initTimeoutMs,
            jobCheckMs: deps.terminal?.jobCheckMs,
            unknown: unknownSessions,
            onSettled: release,
            onOverflow: () => deps.metrics?.adapterRejected.inc({ reason: 'terminal_overflow' }),
          }),
        );
        return;
      }
      refuse(socket, 404, 'Not Found', `unknown WebSocket endpoint ${path.slice(0, 128)}`, 'NOT_FOUND');
    },
    async close() {
      follow.stopAll();
      deps.utilization?.stop();
      for (const s of [...shells]) s.close();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
