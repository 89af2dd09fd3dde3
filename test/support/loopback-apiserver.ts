// A loopback HTTPS server standing in for kube-apiserver in unit tests of the client-node layer
// (connection reuse, watch resumption): a throwaway self-signed certificate for 127.0.0.1, a
// KubeConfig that trusts it, and a count of the TLS connections clients opened.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { LoopbackServer } from './loopback-server.js';

export interface LoopbackApiserver {
  kc: KubeConfig;
  /** TLS connections accepted since start (or since the last reset). */
  connections(): number;
  resetConnections(): void;
  close(): Promise<void>;
}

export async function startLoopbackApiserver(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LoopbackApiserver> {
  const dir = mkdtempSync(join(tmpdir(), 'loopback-apiserver-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(join(dir, 'cert.pem'));
  const server = await new LoopbackServer(createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, handler), 'secureConnection').listen();
  rmSync(dir, { recursive: true, force: true });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${server.port}`, caData: cert.toString('base64') }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return {
    kc,
    connections: () => server.accepted,
    resetConnections: () => {
      server.accepted = 0;
    },
    close: () => server.close(),
  };
}
