// GatedAgent against a loopback HTTPS server that answers like kube-apiserver does for objects over
// 2 KiB (Transfer-Encoding: chunked), through node-fetch 2.x, the HTTP client client-node uses.
// The control shows the failure the agent exists for (node-fetch #1767): Node's own keep-alive
// queue hands a freed socket to the next request before the response emits 'close', and node-fetch
// calls that response prematurely closed. Should a Node or node-fetch release stop doing that, the
// control fails and the workaround can go.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpsAgent, createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fetch from 'node-fetch';
import { GatedAgent } from '../../../src/k8s/gated-agent.js';

let server: Server;
let url: string;
let ca: Buffer;
let dir: string;
let inFlight = 0;
let maxInFlight = 0;
const connections = new Set<Socket>();
let connectionCount = 0;
const seen: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gated-agent-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'cert.pem'));
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (req, res) => {
    seen.push(req.url ?? '');
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.writeHead(200, { 'content-type': 'application/json' });
    // Two writes in one turn and no Content-Length: a chunked body whose last chunk arrives with
    // the rest, like kube-apiserver's answer with a UCloudJob and its managedFields.
    res.write(`{"pad":"${'x'.repeat(3000)}",`);
    res.end(`"url":${JSON.stringify(req.url)}}`);
    res.once('finish', () => inFlight--);
  });
  server.on('connection', (s: Socket) => {
    connectionCount++;
    connections.add(s);
    s.on('close', () => connections.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of connections) s.destroy();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Turns are handed on a macrotask after each request's 'close'; let those run. */
async function settled(agent: GatedAgent): Promise<void> {
  for (let i = 0; i < 20 && agent.inFlight + agent.queued > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

async function burst(agent: HttpsAgent, n: number): Promise<{ ok: number; prematureClose: number; other: string[] }> {
  const results = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${url}/o/${i}`, { agent });
      const body = (await res.json()) as { url: string };
      if (body.url !== `/o/${i}`) throw new Error(`wrong body for ${i}: ${body.url}`);
    }),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String((r.reason as Error).message));
  return {
    ok: results.length - failed.length,
    prematureClose: failed.filter((m) => m.includes('Premature close')).length,
    other: failed.filter((m) => !m.includes('Premature close')),
  };
}

describe('GatedAgent', () => {
  beforeEach(() => {
    maxInFlight = 0;
    connectionCount = 0;
  });

  // On Node 20 this control failed 400-request bursts with node-fetch's false "Premature close"
  // (ADR 0010); Node 24, the runtime the project now runs everywhere, no longer hands the freed
  // socket over before the response's 'close', so a plain queueing agent serves the same burst.
  it('control: on Node 24 a keep-alive agent with maxSockets queues without false premature closes', async () => {
    const agent = new HttpsAgent({ ca, keepAlive: true, maxSockets: 4 });
    const r = await burst(agent, 400);
    agent.destroy();
    expect(r.other).toEqual([]);
    expect(r.prematureClose).toBe(0);
    expect(r.ok).toBe(400);
  });

  it('serves every request of a burst, never more than its limit at once, over reused sockets', async () => {
    const agent = new GatedAgent({ ca }, 4);
    const r = await burst(agent, 400);
    expect(r).toEqual({ ok: 400, prematureClose: 0, other: [] });
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(connectionCount).toBeLessThanOrEqual(4);
    await settled(agent);
    expect(agent.inFlight).toBe(0);
    expect(agent.queued).toBe(0);
    agent.destroy();
  });

  it('a request aborted while it waits frees its turn and never reaches the server', async () => {
    seen.length = 0;
    const agent = new GatedAgent({ ca }, 1);
    const first = fetch(`${url}/o/0`, { agent });
    const controller = new AbortController();
    const aborted = fetch(`${url}/o/1`, { agent, signal: controller.signal as never });
    controller.abort();
    await expect(aborted).rejects.toThrow(/abort/i);
    const third = fetch(`${url}/o/2`, { agent });
    expect(((await (await first).json()) as { url: string }).url).toBe('/o/0');
    expect(((await (await third).json()) as { url: string }).url).toBe('/o/2');
    await settled(agent);
    expect(agent.inFlight + agent.queued).toBe(0);
    expect(seen).toEqual(['/o/0', '/o/2']);
    agent.destroy();
  });
});
