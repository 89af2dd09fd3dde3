// The WebSocket gateway on a loopback HTTP server with terminals only (no follow), for the terminal
// tests: the URL of the terminal socket and a close that ends every socket.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecPort } from '../../../src/adapter/sessions/exec.js';
import type { SessionStore } from '../../../src/adapter/sessions/store.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { createWebSocketGateway, type WebSocketGateway, type WebSocketGatewayDeps } from '../../../src/adapter/websocket.js';
import { rootLogger } from '../../../src/observability/log.js';
import type { FakeKube } from '../../support/fake-kube.js';
import { job } from '../../support/job-factory.js';
import { adapterConfig, NS, PROVIDER } from './support.js';

/** The running one-rank job j-1 (id 1, owner user) that the terminal tests open sessions on. */
export const RUNNING_JOB: UCloudJob = { ...job({ jobId: '1', replicas: 1, owner: { createdBy: 'user' } }, 'uid-1', NS), status: { state: 'RUNNING' } };

export interface TerminalGateway {
  url: string;
  gateway: WebSocketGateway;
  close(): Promise<void>;
}

export async function startTerminalGateway(opts: {
  publicKey: string;
  kube: FakeKube;
  exec: ExecPort;
  sessions: SessionStore;
  terminal?: WebSocketGatewayDeps['terminal'];
}): Promise<TerminalGateway> {
  const gateway = createWebSocketGateway({
    config: adapterConfig(opts.publicKey),
    kube: opts.kube,
    logger: rootLogger,
    logs: {
      open: async () => {
        throw new Error('no follow in terminal tests');
      },
    },
    exec: opts.exec,
    sessions: opts.sessions,
    terminal: opts.terminal,
  });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', gateway.handleUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    gateway,
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ucloud/${PROVIDER}/websocket`,
    close: async () => {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
