// The informer against a loopback stand-in for kube-apiserver whose watches stay silent (no event,
// no bookmark): client-node 2.x ends such a watch with a TimeoutError after its inactivity timeout.
// That is a quiet resource, not a failure: the informer resumes from the resourceVersion it has,
// and never relists for it.
import { Informer } from '../../../src/k8s/informer.js';
import { rootLogger } from '../../../src/observability/log.js';
import { startLoopbackApiserver, type LoopbackApiserver } from '../../support/loopback-apiserver.js';

let api: LoopbackApiserver;
const watches: string[] = [];

beforeAll(async () => {
  api = await startLoopbackApiserver((req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    if (url.searchParams.get('watch') !== 'true') {
      res.writeHead(404).end();
      return;
    }
    watches.push(url.searchParams.get('resourceVersion') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders(); // and then nothing, until the client gives up
  });
});

afterAll(() => api.close());

it('a watch ended by the inactivity timeout resumes from its resourceVersion without relisting', async () => {
  let lists = 0;
  const informer = new Informer<{ metadata?: { name?: string; namespace?: string; resourceVersion?: string } }>({
    kc: api.kc,
    path: '/api/v1/namespaces/ns/configmaps',
    resource: 'configmaps',
    list: async () => {
      lists++;
      return { items: [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '5' } }], resourceVersion: '5', continue: undefined };
    },
    logger: rootLogger,
    watchInactivityMs: 150,
  });
  await informer.start();
  for (let i = 0; i < 200 && watches.length < 4; i++) await new Promise((r) => setTimeout(r, 25));
  await informer.stop();
  expect(watches.length).toBeGreaterThanOrEqual(4);
  expect(new Set(watches)).toEqual(new Set(['5']));
  expect(lists).toBe(1);
  expect(informer.get('ns', 'a')?.metadata?.resourceVersion).toBe('5');
});
