// The provider API UCloud/Core calls (`/ucloud/{providerId}/...`). Stateless, so every replica
// serves it: each call is authenticated first (deny by default: an unauthenticated request gets
// 401 whatever its path, before its body is even read), then validated whole, then turned into
// writes of UCloudJob objects. Routes are a fixed table, which also names every call in the
// access log and metrics.
import express, { type Request } from 'express';
import type { OperatorConfig } from '../config.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { accessLog, noteJobs } from './access-log.js';
import { createCoreTokenVerifier, loadCoreKey, requireCoreToken, type CoreTokenVerifier } from './auth.js';
import type { CallContext, Handler } from './context.js';
import { createJobs } from './create.js';
import { errorHandler, notFound } from './errors.js';
import { JobStore } from './job-store.js';
import { extendJobs, terminateJobs, verifyJobs } from './lifecycle.js';
import { adapterFeatures } from './features.js';
import { computeSupport } from './products.js';
import { openInteractiveSessions, type SessionSupport } from './sessions/open.js';
import type { SshInstaller } from './sessions/ssh.js';
import { SshPortAllocator } from './sessions/ssh-ports.js';
import type { SessionStore } from './sessions/store.js';
import type { WebPublisher } from './sessions/web.js';
import { branding, connect, manifest, noProducts, requestDynamicParameters, unlinked } from './integration.js';
import type { WebAuth } from './sessions/web-auth.js';
import { initUser, suspension, updateAcl } from './simple-calls.js';
import { retrieveUtilization } from './utilization.js';

export interface AdapterDeps {
  config: OperatorConfig;
  kube: KubePort;
  logger: Logger;
  metrics: OperatorMetrics;
  /** verify: ids of jobs UCloud/Core has and this cluster does not (the reporter fails them). */
  onUnknownJobs?: (ids: string[]) => void | Promise<void>;
  /** Token check; defaults to verifyCoreToken against config.ucloud (wall clock, never `now`). */
  verifyToken?: CoreTokenVerifier;
  /** Clock for what the adapter writes (terminationRequestedAt). */
  now?: () => Date;
  /**
   * What the WebSocket gateway serves next to this app (websocket.ts): follow, and terminals
   * backed by `sessions`. Absent: logs and terminal are neither advertised nor served.
   */
  interactive?: { follow: boolean; sessions?: SessionStore; ssh?: SshInstaller; web?: WebPublisher; webSessions?: SessionStore; webAuth?: WebAuth };
  /** Live capacity for retrieveProducts' queueStatus (capacity.ts). */
  capacity?: CallContext['capacity'];
  /** Drive titles from UCloud/Core, for naming whole-drive mounts (create.ts). */
  driveTitle?: CallContext['driveTitle'];
  /** License products from UCloud/Core, for IM2's license string (create.ts). */
  licenseProduct?: CallContext['licenseProduct'];
}

interface Route {
  method: 'GET' | 'POST';
  /** Below /ucloud/{providerId}. */
  path: string;
  /** Fixed name for logs and metrics. */
  call: string;
  handle: Handler;
  /** Polled by core2 every ~10 s: answered calls are logged at debug, not info. */
  poll?: true;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/jobs', call: 'create', handle: createJobs },
  { method: 'POST', path: '/jobs/terminate', call: 'terminate', handle: terminateJobs },
  { method: 'POST', path: '/jobs/extend', call: 'extend', handle: extendJobs },
  { method: 'POST', path: '/jobs/suspend', call: 'suspend', handle: suspension },
  { method: 'POST', path: '/jobs/unsuspend', call: 'unsuspend', handle: suspension },
  { method: 'POST', path: '/jobs/verify', call: 'verify', handle: verifyJobs },
  { method: 'POST', path: '/jobs/updateAcl', call: 'updateAcl', handle: updateAcl },
  { method: 'POST', path: '/jobs/init', call: 'init', handle: initUser },
  // UCloud/Core calls /interactiveSession; the generated spec names it openInteractiveSession.
  { method: 'POST', path: '/jobs/interactiveSession', call: 'interactiveSession', handle: (body, ctx) => openInteractiveSessions(body, ctx, ctx.sessions) },
  { method: 'POST', path: '/jobs/openInteractiveSession', call: 'interactiveSession', handle: (body, ctx) => openInteractiveSessions(body, ctx, ctx.sessions) },
  {
    method: 'GET',
    path: '/jobs/retrieveProducts',
    call: 'retrieveProducts',
    handle: async (_body, ctx) => computeSupport(ctx.config, ctx.features, await ctx.capacity?.queueStatuses()),
    poll: true,
  },
  // GET calls read their parameters from the query string (docs/ucloud-wire.md, query).
  { method: 'GET', path: '/jobs/retrieveUtilization', call: 'retrieveUtilization', handle: retrieveUtilization },
  { method: 'POST', path: '/jobs/requestDynamicParameters', call: 'requestDynamicParameters', handle: requestDynamicParameters },
  // core2's provider-integration calls (integration.ts): per-user init, connect, unlinked, and the
  // manifest its feature monitor polls.
  { method: 'POST', path: '/integration/init', call: 'integrationInit', handle: initUser },
  { method: 'POST', path: '/integration/connect', call: 'integrationConnect', handle: (body, ctx) => connect(body, ctx.config) },
  { method: 'POST', path: '/integration/unlinked', call: 'integrationUnlinked', handle: unlinked },
  { method: 'GET', path: '/integration/retrieveManifest', call: 'retrieveManifest', handle: manifest, poll: true },
  // The other resource types core2's feature monitor polls (core2/pkg/orchestrator/features.go):
  // none are offered here, and an empty list says so.
  { method: 'GET', path: '/files/collections/retrieveProducts', call: 'driveProducts', handle: noProducts, poll: true },
  { method: 'GET', path: '/ingresses/retrieveProducts', call: 'ingressProducts', handle: noProducts, poll: true },
  { method: 'GET', path: '/networkips/retrieveProducts', call: 'publicIpProducts', handle: noProducts, poll: true },
  { method: 'GET', path: '/licenses/retrieveProducts', call: 'licenseProducts', handle: noProducts, poll: true },
  { method: 'GET', path: '/private-networks/retrieveProducts', call: 'privateNetworkProducts', handle: noProducts, poll: true },
  { method: 'GET', path: '/provider/branding/retrieveInfo', call: 'branding', handle: (_body, ctx) => branding(ctx.config), poll: true },
];

/** Route names whose answered calls are logged at debug (core2 polls them every ~10 s). */
export const POLLED_CALLS: ReadonlySet<string> = new Set(ROUTES.filter((r) => r.poll).map((r) => r.call));

/** The route name of a request, as Express will match it (case-sensitive, optional trailing slash). */
function callNamer(base: string): (req: Request) => string {
  const names = new Map(ROUTES.map((r) => [`${r.method} ${base}${r.path}`, r.call]));
  return (req) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
    return names.get(`${method} ${path}`) ?? 'unknown';
  };
}

export function createAdapterApp(deps: AdapterDeps): express.Express {
  const { config, kube, logger, metrics } = deps;
  const base = `/ucloud/${config.providerId}`;
  const features = adapterFeatures({ follow: !!deps.interactive?.follow, shell: !!deps.interactive?.sessions, web: !!deps.interactive?.web });
  const sessionSupport: SessionSupport = { SHELL: features.terminal, WEB: features.web, VNC: features.vnc };
  const shared: Omit<CallContext, 'noteJobs'> = {
    config,
    features,
    sessions:
      deps.interactive?.sessions || deps.interactive?.web
        ? {
            store: deps.interactive.sessions,
            web: deps.interactive.web,
            webSessions: deps.interactive.webSessions,
            webSessionTtlSeconds: config.interactive.web.auth.sessionTtlSeconds,
            support: sessionSupport,
          }
        : undefined,
    ssh: deps.interactive?.ssh,
    // Only with SSH offered; an SSH job is refused before a port would be needed otherwise.
    sshPorts: deps.interactive?.ssh ? new SshPortAllocator(config, kube) : undefined,
    kube,
    jobs: new JobStore(kube, config.namespace),
    logger,
    now: deps.now ?? (() => new Date()),
    onUnknownJobs: deps.onUnknownJobs,
    capacity: deps.capacity,
    driveTitle: deps.driveTitle,
    licenseProduct: deps.licenseProduct,
  };

  if (!deps.verifyToken) {
    // Say so at start-up, not only in the reason of every rejected call.
    loadCoreKey(config.ucloud.publicKey).catch((e: Error) =>
      logger.error('The configured UCloud public key is unusable: every call will be rejected', { reason: e.message }),
    );
  }

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('case sensitive routing', true);

  app.use(accessLog(callNamer(base), logger, metrics, POLLED_CALLS));
  const webAuth = deps.interactive?.webAuth;
  if (webAuth) {
    // The one call without a UCloud token: the ingress controller asks it about each request to a
    // job's web or VNC host, and the answer only says whether a 256-bit session secret is valid.
    app.get(`${base}/web-auth`, async (req, res) => {
      const answer = await webAuth.verify(req.headers).catch(() => ({ status: 401 as const, why: 'session look-up failed', setCookie: undefined }));
      if (answer.setCookie) res.setHeader('set-cookie', answer.setCookie);
      res.setHeader('cache-control', 'no-store');
      if (answer.status !== 200) metrics.adapterRejected.inc({ reason: 'web_session' });
      res.status(answer.status).json(answer.status === 200 ? {} : { why: answer.why ?? 'unauthorized', errorCode: 'INVALID_SESSION' });
    });
  }
  app.use(requireCoreToken(deps.verifyToken ?? createCoreTokenVerifier(config), logger, metrics));
  // Any content type is read as JSON: UCloud's own documented calls send a malformed one, and
  // the body is validated against a schema either way.
  app.use(express.json({ limit: config.http.bodyLimitBytes, type: () => true }));

  for (const route of ROUTES) {
    const register = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app);
    register(`${base}${route.path}`, async (req, res) => {
      const ctx: CallContext = { ...shared, noteJobs: (ids) => noteJobs(res, ids) };
      res.json(await route.handle(route.method === 'GET' ? req.query : req.body, ctx));
    });
  }

  app.use(notFound());
  app.use(errorHandler(logger, metrics));
  return app;
}
