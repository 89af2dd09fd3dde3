// The kubelet Summary port against loopback HTTPS stand-ins: it finds the kubelet from the Node
// (InternalIP, daemonEndpoints port), sends the operator's token only to a kubelet whose
// certificate the cluster CA vouches for (even when the kubeconfig says skip verification), and
// refuses an answer that is not a Summary.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeletStats } from '../../../../src/adapter/follow/kubelet-summary.js';
import { startLoopbackApiserver, type LoopbackApiserver } from '../../../support/loopback-apiserver.js';

const SUMMARY = readFileSync(new URL('../../../fixtures/kubelet-summary-1.json', import.meta.url), 'utf8');

const nodeAt = (port: number) => ({
  metadata: { name: 'n1' },
  status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
});

function json(res: ServerResponse, body: unknown) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

describe('createKubeletStats', () => {
  const servers: LoopbackApiserver[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const s = await startLoopbackApiserver(handler);
    servers.push(s);
    return s;
  };
  const portOf = (s: LoopbackApiserver) => Number(new URL(s.kc.getCurrentCluster()!.server).port);

  it("reads a verified kubelet's Summary with the operator's token", async () => {
    const seen: Array<{ path?: string; auth?: string }> = [];
    // One stand-in is both: the apiserver (the Node) and the kubelet it points to.
    const both = await start((req, res) => {
      seen.push({ path: req.url, auth: req.headers.authorization });
      if (req.url === '/api/v1/nodes/n1') json(res, nodeAt(portOf(both)));
      else if (req.url === '/stats/summary') json(res, SUMMARY);
      else res.writeHead(404).end();
    });
    const summary = await createKubeletStats(both.kc).summary('n1');
    expect(summary.pods.map((p) => p.podRef.name)).toEqual(['j-92701-0', 'j-92702-0']);
    expect(seen.find((s) => s.path === '/stats/summary')?.auth).toBe('Bearer not-a-secret');
  });

  it('sends nothing to a kubelet whose certificate the cluster CA did not sign, whatever the kubeconfig says', async () => {
    const kubeletRequests: string[] = [];
    const kubelet = await start((req, res) => {
      kubeletRequests.push(req.url ?? '');
      json(res, SUMMARY);
    });
    const apiserver = await start((req, res) => json(res, nodeAt(portOf(kubelet))));
    await expect(createKubeletStats(apiserver.kc).summary('n1')).rejects.toThrow(/certificate/);
    // A kubeconfig that skips verification of the apiserver does not extend that to kubelets.
    const lax = new KubeConfig();
    lax.loadFromString(apiserver.kc.exportConfig());
    lax.clusters[0] = { ...lax.clusters[0]!, skipTLSVerify: true };
    await expect(createKubeletStats(lax).summary('n1')).rejects.toThrow(/certificate/);
    expect(kubeletRequests).toEqual([]);
  });

  it('refuses an answer that is not a Summary, and a kubelet that says no', async () => {
    let answer: () => [number, string] = () => [200, '{"pods": [{"podRef": {}}]}'];
    const both = await start((req, res) => {
      if (req.url === '/api/v1/nodes/n1') return json(res, nodeAt(portOf(both)));
      const [status, body] = answer();
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await expect(createKubeletStats(both.kc).summary('n1')).rejects.toThrow();
    answer = () => [403, 'Forbidden (user=system:serviceaccount:x:y, verb=get, resource=nodes, subresource(s)=[proxy])'];
    await expect(createKubeletStats(both.kc).summary('n1')).rejects.toThrow('kubelet answered 403 for /stats/summary');
  });
});
