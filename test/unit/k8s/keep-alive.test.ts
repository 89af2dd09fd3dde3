// withKeepAlive against a loopback stand-in for kube-apiserver: client-node 2.0 builds a new undici
// Agent (connection pool) for every request, so without the view every call opens its own TLS
// connection; through it, a burst shares at most `maxConnections` connections and every answer
// reaches its caller. The control shows the per-request pools the view exists for: should a
// client-node release cache its dispatcher, the control fails and the view can go (ADR 0010).
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { withKeepAlive } from '../../../src/k8s/client-node-port.js';
import { startLoopbackApiserver, type LoopbackApiserver } from '../../support/loopback-apiserver.js';

let api: LoopbackApiserver;
let inFlight = 0;
let maxInFlight = 0;

beforeAll(async () => {
  api = await startLoopbackApiserver((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Answered a little later and chunked (no Content-Length), as kube-apiserver answers a list of
    // large objects, so a burst really overlaps.
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(
        `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"pad","annotations":{"p":"${'x'.repeat(3000)}"}}},`,
      );
      res.end(`{"metadata":{"name":${JSON.stringify(req.url)}}}]}`);
      inFlight--;
    }, 5);
  });
});

afterAll(() => api.close());

beforeEach(() => {
  api.resetConnections();
  maxInFlight = 0;
});

async function burst(config: KubeConfig, n: number): Promise<string[]> {
  const core = config.makeApiClient(CoreV1Api);
  const lists = await Promise.all(Array.from({ length: n }, (_, i) => core.listNamespacedConfigMap({ namespace: `ns-${i}` })));
  return lists.map((l) => l.items[1]?.metadata?.name ?? '');
}

const paths = (n: number) => Array.from({ length: n }, (_, i) => `/api/v1/namespaces/ns-${i}/configmaps`);

describe('withKeepAlive', () => {
  it('control: client-node 2.0 opens a connection per request without it', async () => {
    expect(await burst(api.kc, 40)).toEqual(paths(40));
    expect(api.connections()).toBe(40);
  });

  it('serves a burst of 200 over at most maxConnections reused connections, every answer to its caller', async () => {
    const view = withKeepAlive(api.kc, 8);
    expect(await burst(view, 200)).toEqual(paths(200));
    expect(api.connections()).toBeGreaterThan(0);
    expect(api.connections()).toBeLessThanOrEqual(8);
    expect(maxInFlight).toBeLessThanOrEqual(8);
    // A second burst reuses the pool: no new connections.
    const before = api.connections();
    expect(await burst(view, 50)).toEqual(paths(50));
    expect(api.connections()).toBe(before);
  });
});
