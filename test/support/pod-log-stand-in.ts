// A loopback stand-in for the kube-apiserver's pod-log endpoint
// (GET /api/v1/namespaces/{ns}/pods/{pod}/log?follow=true...). kwok runs no containers, so its
// pods have no logs; the real LogSource is pointed here instead. It serves each pod the bytes a
// test gives it and keeps the response open (follow mode) until the client goes away, counting the
// TCP connections that are open so a test can prove none is left behind.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server.js';

export interface LogRequest {
  namespace: string;
  pod: string;
  query: URLSearchParams;
}

export class PodLogStandIn {
  readonly requests: LogRequest[] = [];
  private readonly streams = new Map<string, Set<ServerResponse>>();
  /** Chunks served to every (new) request for a pod, in order. */
  private readonly content = new Map<string, Buffer[]>();

  private constructor(private readonly http: LoopbackServer) {
    http.server.on('request', (req, res) => this.handle(req, res));
  }

  static async start(): Promise<PodLogStandIn> {
    return new PodLogStandIn(await new LoopbackServer(createServer()).listen());
  }

  get url(): string {
    return `http://127.0.0.1:${this.http.port}`;
  }

  /** TCP connections from clients that are still open. */
  get openConnections(): number {
    return this.http.openConnections;
  }

  /** Follow responses still being served. */
  get openStreams(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.size;
    return n;
  }

  /** What a pod's log holds; each chunk is written separately (chunks may split lines). */
  setLog(pod: string, chunks: Buffer[]): void {
    this.content.set(pod, chunks);
  }

  /** Appends to a pod's log and to every open follow stream of it. */
  append(pod: string, chunk: Buffer): void {
    this.content.set(pod, [...(this.content.get(pod) ?? []), chunk]);
    for (const res of this.streams.get(pod) ?? []) res.write(chunk);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
      return;
    }
    const pod = decodeURIComponent(m[2]!);
    this.requests.push({ namespace: decodeURIComponent(m[1]!), pod, query: url.searchParams });
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    for (const chunk of this.content.get(pod) ?? []) res.write(chunk);
    if (url.searchParams.get('follow') !== 'true') {
      res.end();
      return;
    }
    const set = this.streams.get(pod) ?? new Set();
    this.streams.set(pod, set);
    set.add(res);
    res.on('close', () => set.delete(res));
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
