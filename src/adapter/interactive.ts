// Composition of the interactive features (follow, terminals) for the operator: the session store
// the adapter's interactiveSession writes, and the WebSocket gateway that serves follow and the
// terminals on the adapter's HTTP server. The pod-log and exec ports default to the cluster of
// `kc`; tests substitute loopback stand-ins.
import type { KubeConfig } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { AdapterDeps } from './app.js';
import { createKubeLogSource, type LogSource } from './follow/log-source.js';
import { createKubeletStats, type KubeletStatsPort } from './follow/kubelet-summary.js';
import { UtilizationHub } from './follow/utilization-hub.js';
import { createKubeExecPort, type ExecPort } from './sessions/exec.js';
import { createSecretApi, type SecretApi } from './sessions/secret-api.js';
import { SshInstaller, type SshKeySource } from './sessions/ssh.js';
import { SessionStore } from './sessions/store.js';
import { SessionSweeper } from './sessions/sweep.js';
import { createIngressApi, WebPublisher, type IngressApi } from './sessions/web.js';
import { JobStore } from './job-store.js';
import { WebAuth } from './sessions/web-auth.js';
import { createWebSocketGateway, type WebSocketGateway } from './websocket.js';

export interface InteractiveOptions {
  config: OperatorConfig;
  kc: KubeConfig;
  kube: KubePort;
  logger: Logger;
  metrics?: OperatorMetrics;
  now?: () => Date;
  logSource?: LogSource;
  /** Where utilization charts come from (default: the kubelets, with the credentials of `kc`). */
  kubeletStats?: KubeletStatsPort;
  exec?: ExecPort;
  secrets?: SecretApi;
  ingresses?: IngressApi;
  /** UCloud/Core's JobsControl, for browseSshKeys (SSH needs it; without it SSH is not offered). */
  control?: SshKeySource;
}

export function createInteractive(opts: InteractiveOptions): {
  adapter: NonNullable<AdapterDeps['interactive']>;
  gateway: WebSocketGateway;
  /** Deletes expired session Secrets; the operator runs it while it leads. */
  sweeper?: SessionSweeper;
} {
  const { config } = opts;
  // Terminals need RBAC the default installation does not grant (Secrets, pods/exec): opt-in.
  const secrets = opts.secrets ?? createSecretApi(opts.kc);
  const sessions = config.interactive.terminals ? new SessionStore(secrets, config.namespace, config.interactive.sessionTtlSeconds, opts.now) : undefined;
  const ssh = config.interactive.ssh.enabled && opts.control ? new SshInstaller(config, opts.kube, secrets, opts.control) : undefined;
  const webConfig = config.interactive.web;
  const web = webConfig.enabled ? new WebPublisher(config, opts.kube, opts.ingresses ?? createIngressApi(opts.kc)) : undefined;
  // The config refuses web without auth.verifyUrl; every web and VNC session is a stored session.
  const webSessions = web ? new SessionStore(secrets, config.namespace, webConfig.auth.sessionTtlSeconds, opts.now) : undefined;
  const webAuth = webSessions
    ? new WebAuth(webSessions, new JobStore(opts.kube, config.namespace), { secure: webConfig.scheme === 'https', now: opts.now })
    : undefined;
  const util = config.interactive.utilization;
  const utilization = util.enabled
    ? new UtilizationHub({
        stats: opts.kubeletStats ?? createKubeletStats(opts.kc, { caFile: util.kubeletCaFile }),
        logger: opts.logger.child({ component: 'utilization' }),
        intervalMs: util.intervalSeconds * 1000,
        maxNodes: util.maxNodes,
      })
    : undefined;
  const gateway = createWebSocketGateway({
    config,
    kube: opts.kube,
    logger: opts.logger,
    metrics: opts.metrics,
    logs: opts.logSource ?? createKubeLogSource(opts.kc),
    exec: sessions ? (opts.exec ?? createKubeExecPort(opts.kc)) : undefined,
    sessions,
    utilization,
    now: opts.now,
    terminal: {
      flow: { highWaterBytes: config.interactive.terminal.highWaterBytes, maxBufferedBytes: config.interactive.terminal.maxBufferedBytes },
      initTimeoutMs: Math.round(config.interactive.terminal.initTimeoutSeconds * 1000),
      maxPending: config.interactive.terminal.maxPending,
      maxPendingPerClient: config.interactive.terminal.maxPendingPerClient,
    },
    follow: {
      pollMs: Math.round(config.interactive.followPollSeconds * 1000),
      highWaterBytes: config.interactive.followBufferBytes,
      lowWaterBytes: Math.floor(config.interactive.followBufferBytes / 4),
    },
  });
  const sweeper =
    sessions || webSessions
      ? new SessionSweeper({
          secrets,
          namespace: config.namespace,
          logger: opts.logger,
          intervalMs: config.interactive.sessionSweepSeconds * 1000,
          now: opts.now,
        })
      : undefined;
  return { adapter: { follow: true, sessions, ssh, web, webSessions, webAuth }, gateway, sweeper };
}
