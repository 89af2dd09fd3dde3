// Composition root: builds the adapter, the controller and the probe/metrics server from a
// configuration and a KubeConfig, and shuts them down in the right order. main.ts runs it as a
// process; integration tests run it in-process against the local control plane.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { OperatorConfig } from './config.js';
import { describeConfig } from './config.js';
import { createAdapterApp } from './adapter/app.js';
import { Accounting } from './controller/accounting.js';
import { Controller } from './controller/controller.js';
import { LeaderElector } from './k8s/leader-election.js';
import { createClientNodePort } from './k8s/client-node-port.js';
import type { KubePort } from './k8s/kube-port.js';
import { rootLogger, type Logger } from './observability/log.js';
import { OperatorMetrics } from './observability/metrics.js';
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
}

export interface RunningOperator {
  adapterUrl: string;
  probeUrl: string;
  controller?: Controller;
  accounting?: Accounting;
  elector?: LeaderElector;
  metrics: OperatorMetrics;
  kube: KubePort;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const { config, kc } = opts;
  const logger = opts.logger ?? rootLogger.child({ component: 'operator' });
  const metrics = opts.metrics ?? new OperatorMetrics();
  const kube = opts.kube ?? createClientNodePort(kc);
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

  const controller = opts.reconcile === false ? undefined : new Controller({ kc, kube, control, config, logger, metrics, now: opts.now });
  const accounting =
    controller && config.accounting.enabled
      ? new Accounting({
          kube,
          control,
          listJobs: () => controller.jobs.list(),
          logger: logger.child({ component: 'accounting' }),
          metrics,
          intervalMs: config.accounting.intervalSeconds * 1000,
          now: opts.now,
          onInsufficientFunds: (ns, name) => controller.queue.add(`${ns}/${name}`),
        })
      : undefined;
  if (controller && accounting) controller.onJobFinal.push(() => accounting.trigger());
  let shuttingDown = false;
  let leading = false;
  const startDuties = async () => {
    await controller?.start();
    accounting?.start();
    leading = true;
  };
  const stopDuties = async () => {
    leading = false;
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

  const app = createAdapterApp({
    config,
    kube,
    logger: logger.child({ component: 'adapter' }),
    metrics,
    onUnknownJobs: (ids: string[]) => controller?.reporter.reportUnknown(ids),
  });
  const adapter = createServer(app);
  const probes = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (req.url === '/readyz') {
      // Ready: serving the adapter; a leader also needs synced caches. A standby is ready too
      // (it serves the adapter), and says so.
      const ready = !shuttingDown && (!leading || (controller?.hasSynced ?? true));
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'not ready');
    } else if (req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    } else res.writeHead(404).end();
  });

  const probeAddr = await listen(probes, config.http.probePort, config.http.host);
  if (elector) elector.start();
  else if (controller) await startDuties();
  const adapterAddr = await listen(adapter, config.http.port, config.http.host);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info('ucloud-operator ready', { adapterPort: adapterAddr.port, probePort: probeAddr.port });

  return {
    adapterUrl: `http://${host}:${adapterAddr.port}`,
    probeUrl: `http://${host}:${probeAddr.port}`,
    controller,
    accounting,
    elector,
    metrics,
    kube,
    stop: async () => {
      shuttingDown = true;
      await closeServer(adapter);
      await stopDuties();
      await elector?.stop();
      await closeServer(probes);
      logger.info('ucloud-operator stopped');
    },
  };
}

/** KUBECONFIG / ~/.kube/config when present, else the in-cluster service account. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
