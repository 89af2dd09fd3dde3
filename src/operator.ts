// Composition root: builds the adapter, the controller and the probe/metrics server from a
// configuration and a KubeConfig, and shuts them down in the right order. main.ts runs it as a
// process; integration tests run it in-process against the local control plane.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { OperatorConfig } from './config.js';
import { describeConfig } from './config.js';
import { createAdapterApp } from './adapter/app.js';
import { CapacityCache } from './adapter/capacity.js';
import { createInteractive, type InteractiveOptions } from './adapter/interactive.js';
import type { WebSocketGateway } from './adapter/websocket.js';
import { Accounting } from './controller/accounting.js';
import { Controller } from './controller/controller.js';
import { LeaderElector } from './k8s/leader-election.js';
import { createClientNodePort } from './k8s/client-node-port.js';
import { withRequestCounting } from './k8s/request-metrics.js';
import type { KubePort } from './k8s/kube-port.js';
import { rootLogger, type Logger } from './observability/log.js';
import { OperatorMetrics, throttled } from './observability/metrics.js';
import { JobsControlClient, type JobsControlPort } from './ucloud/control-client.js';

export interface OperatorOptions {
  config: OperatorConfig;
  kc: KubeConfig;
  logger?: Logger;
  metrics?: OperatorMetrics;
  control?: JobsControlPort;
  kube?: KubePort;
  /** Run the reconciler (false: adapter only). With leader election it runs only while leading. */
  reconcile?: boolean;
  now?: () => Date;
  /** Leadership was lost (main.ts exits so the pod restarts as a clean standby). */
  onLostLeadership?: () => void;
  /** Pod-log and exec ports for follow and terminals (default: the cluster of `kc`). */
  interactive?: Pick<InteractiveOptions, 'logSource' | 'exec' | 'secrets' | 'kubeletStats'>;
}

export interface RunningOperator {
  adapterUrl: string;
  probeUrl: string;
  controller?: Controller;
  accounting?: Accounting;
  elector?: LeaderElector;
  metrics: OperatorMetrics;
  kube: KubePort;
  /** The follow and terminal WebSockets on the adapter's server. */
  webSockets: WebSocketGateway;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

interface DrainableServer {
  server: Server;
  /** Stops accepting connections, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

/**
 * An HTTP server that drains: Node's close() stops listening but leaves a keep-alive connection
 * open until its idle timeout once its in-flight response is done. Responses still in flight when
 * draining starts are sent with `Connection: close`, and finished ones close their socket.
 */
function drainableServer(handler: (req: IncomingMessage, res: ServerResponse) => void): DrainableServer {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const server = createServer((req, res) => {
    inFlight.add(res);
    if (closing) res.shouldKeepAlive = false;
    res.on('close', () => {
      inFlight.delete(res);
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    handler(req, res);
  });
  return {
    server,
    close: () =>
      new Promise((resolve) => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const { config, kc } = opts;
  const logger = opts.logger ?? rootLogger.child({ component: 'operator' });
  const metrics = opts.metrics ?? new OperatorMetrics();
  // Every reconcile worker can hold a connection, with room left for the Event queue, the
  // reporter, accounting and the adapter: workers beyond the pool would only queue in undici.
  const kube = opts.kube ?? createClientNodePort(kc, undefined, { metrics, maxConnections: Math.max(32, config.reconciler.workers + 16) });
  // The informers' watches and lists are counted in rest_client_requests_total too.
  const countedKc = withRequestCounting(kc, (labels) => metrics.restClientRequests.inc(labels));
  const control =
    opts.control ??
    new JobsControlClient({
      coreUrl: config.ucloud.coreUrl,
      refreshToken: config.ucloud.refreshToken,
      logger: logger.child({ component: 'jobs-control' }),
      metrics,
      maxItemsPerCall: config.reporting.maxItemsPerCall,
      retry: { attempts: config.reporting.retryAttempts, baseDelayMs: 200, maxDelayMs: 5000 },
    });
  logger.info('Starting ucloud-operator', { config: describeConfig(config) });

  // Every replica answers retrieveProducts, so each keeps its own view of the capacity.
  const capacity = new CapacityCache({ kc: countedKc, kube, config, logger: logger.child({ component: 'capacity' }), metrics });
  const controller =
    opts.reconcile === false
      ? undefined
      : new Controller({ kc: countedKc, kube, control, config, logger, metrics, neverFits: (job) => capacity.neverFits(job.spec), now: opts.now });
  // A backend the site chose but the cluster lacks (Kueue not installed): refuse to start.
  await controller?.reconciler.gangBackend.requireServed();
  capacity.start();
  const accounting =
    controller && config.accounting.enabled
      ? new Accounting({
          kube,
          control,
          listJobs: () => controller.jobs.list(),
          logger: logger.child({ component: 'accounting' }),
          metrics,
          intervalMs: config.accounting.intervalSeconds * 1000,
          minuteMillis: config.accounting.minuteMillis,
          ranksEndedAt: (job, now) => controller.ranksEndedAt(job, now),
          settleMs: config.accounting.settleSeconds * 1000,
          persistEveryMs: config.accounting.persistEverySeconds * 1000,
          // A termination written while the job watch was down is not in the cache either.
          cachesCurrent: () => controller.pods.watching && controller.jobs.watching,
          priority: controller.priority,
          now: opts.now,
        })
      : undefined;
  // Accounting is a controller of its own: the job informer feeds it final jobs with a window due.
  if (controller && accounting) controller.jobs.onChange((job, kind) => accounting.observe(job, kind));
  // The jobs-by-state gauge reads the reconciler's cache, only while this replica reconciles.
  metrics.observeJobs(() => (dutiesRunning && controller ? controller.jobs.list() : undefined));
  // Both walk every cached job: throttled, so a fast scraper cannot make them a CPU load at 10,000 jobs.
  const backlog = controller && throttled(() => controller.reporter.backlog());
  const uncharged = accounting && throttled(() => accounting.uncharged());
  metrics.observeBacklog(() => (dutiesRunning && backlog ? backlog() : undefined));
  metrics.observeUncharged(() => (dutiesRunning && uncharged ? uncharged() : undefined));
  let shuttingDown = false;
  let adapterListening = false;
  /** The controller (and accounting) run: started and not yet told to stop. */
  let dutiesRunning = false;
  const startDuties = async () => {
    if (shuttingDown) return;
    dutiesRunning = true;
    await controller?.start();
    accounting?.start();
    // Leader-only, like every other cluster-wide duty (interactive is built below, before any start).
    interactive.sweeper?.start();
  };
  const stopDuties = async () => {
    if (!dutiesRunning) return;
    dutiesRunning = false;
    await interactive.sweeper?.stop();
    await accounting?.stop();
    await controller?.stop();
  };
  const elector =
    controller && config.leaderElection.enabled
      ? new LeaderElector({
          kube,
          namespace: config.namespace,
          leaseName: config.leaderElection.leaseName,
          identity: config.leaderElection.identity ?? `${process.env.HOSTNAME ?? 'ucloud-operator'}-${process.pid}`,
          leaseDurationSeconds: config.leaderElection.leaseDurationSeconds,
          renewDeadlineSeconds: config.leaderElection.renewDeadlineSeconds,
          retryPeriodSeconds: config.leaderElection.retryPeriodSeconds,
          logger: logger.child({ component: 'leader-election' }),
          metrics,
          onStartedLeading: startDuties,
          onStoppedLeading: async () => {
            await stopDuties();
            opts.onLostLeadership?.();
          },
        })
      : undefined;

  /**
   * Readiness: the adapter is listening and not draining; a replica that reconciles (the lease
   * holder, or the only replica without leader election) also needs its caches synced. A standby
   * is ready: it serves the adapter.
   */
  const readiness = (): { ready: boolean; role: string } => {
    if (shuttingDown) return { ready: false, role: 'shutting down' };
    if (!adapterListening) return { ready: false, role: 'starting' };
    if (!controller) return { ready: true, role: 'adapter only' };
    if (elector && !elector.isLeader) return { ready: true, role: 'standby' };
    const synced = dutiesRunning && controller.hasSynced;
    return { ready: synced, role: synced ? 'leader' : 'leader, caches not synced' };
  };

  const interactive = createInteractive({
    config,
    kc,
    kube,
    control,
    logger: logger.child({ component: 'adapter' }),
    metrics,
    now: opts.now,
    ...opts.interactive,
  });
  const app = createAdapterApp({
    capacity,
    driveTitle: control.driveTitle?.bind(control),
    licenseProduct: control.licenseProduct?.bind(control),
    config,
    kube,
    logger: logger.child({ component: 'adapter' }),
    metrics,
    onUnknownJobs: (ids: string[]) => controller?.reporter.reportUnknown(ids),
    interactive: interactive.adapter,
  });
  const adapter = drainableServer(app);
  adapter.server.on('upgrade', interactive.gateway.handleUpgrade);
  const probes = drainableServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const { ready, role } = readiness();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${ready ? 'ok' : 'not ready'}: ${role}`);
    } else if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    } else res.writeHead(404).end();
  });

  const probeAddr = await listen(probes.server, config.http.probePort, config.http.host);
  if (elector) elector.start();
  else if (controller) await startDuties();
  const adapterAddr = await listen(adapter.server, config.http.port, config.http.host);
  adapterListening = true;
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info('ucloud-operator ready', { adapterPort: adapterAddr.port, probePort: probeAddr.port });

  let stopping: Promise<void> | undefined;
  return {
    adapterUrl: `http://${host}:${adapterAddr.port}`,
    probeUrl: `http://${host}:${probeAddr.port}`,
    controller,
    accounting,
    elector,
    metrics,
    kube,
    webSockets: interactive.gateway,
    // Graceful shutdown, in order: /readyz turns 503; the adapter stops accepting connections and
    // finishes the calls in flight; the campaign stops (no new leadership); reconciles, reports
    // and the accounting pass in flight finish; the lease is released so a standby takes over at
    // its next retry; the probe server closes last.
    stop: () =>
      (stopping ??= (async () => {
        shuttingDown = true;
        logger.info('Stopping: draining the adapter');
        await interactive.gateway.close();
        await adapter.close();
        await elector?.stopCampaign();
        logger.info('Stopping: finishing reconciles, reports and charges in flight');
        await stopDuties();
        await elector?.release();
        await capacity.stop();
        await probes.close();
        logger.info('ucloud-operator stopped');
      })()),
  };
}

/** KUBECONFIG / ~/.kube/config when present, else the in-cluster service account. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
