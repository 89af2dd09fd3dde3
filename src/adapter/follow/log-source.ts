// The LogSource port: where follow reads a rank's output from. The real one is the Kubernetes
// pod-log API in follow mode (`GET /api/v1/namespaces/{ns}/pods/{pod}/log?follow=true`), read
// with a raw HTTP(S) request so the stream can be paused (back-pressure reaches the apiserver as
// TCP flow control) and aborted (the connection is destroyed, never left open). Unit tests fake
// the port; the integration test points the real implementation at a loopback stand-in.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';

export interface LogStreamRequest {
  namespace: string;
  pod: string;
  container: string;
  /** RFC 3339 time: only lines at or after it (a reconnect resumes here). */
  sinceTime?: string;
  /** Aborting destroys the stream and its connection. */
  signal: AbortSignal;
}

export interface LogSource {
  /**
   * Opens the container's log in follow mode, every line prefixed with its RFC 3339 timestamp
   * (`timestamps=true`). Resolves once the server answered 200; rejects with LogSourceError
   * otherwise. The stream ends when the container ends (or the server drops it).
   */
  open(req: LogStreamRequest): Promise<Readable>;
}

export class LogSourceError extends Error {
  override readonly name = 'LogSourceError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The pod-log path and query of one request. */
export function podLogPath(req: Omit<LogStreamRequest, 'signal'>): string {
  const q = new URLSearchParams({ container: req.container, follow: 'true', timestamps: 'true' });
  if (req.sinceTime) q.set('sinceTime', req.sinceTime);
  return `/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/log?${q.toString()}`;
}

const MAX_ERROR_BODY = 4096;

/**
 * LogSource over the apiserver of `kc` (credentials, CA and client certificates from the
 * kubeconfig). `server` replaces the cluster URL (tests: a loopback stand-in).
 */
export function createKubeLogSource(kc: KubeConfig, opts: { server?: string } = {}): LogSource {
  return {
    async open(req) {
      const server = opts.server ?? kc.getCurrentCluster()?.server;
      if (!server) throw new LogSourceError(0, 'the kubeconfig names no cluster');
      const url = new URL(podLogPath(req), server.endsWith('/') ? server : `${server}/`);
      // Not `text/plain`: kube-apiserver answers that with 406 Not Acceptable (it negotiates the
      // log subresource like any other; kubectl sends `application/json, */*`). Found on a real node.
      const options: RequestOptions = { method: 'GET', headers: { accept: '*/*' } };
      await kc.applyToHTTPSOptions(options);
      const tls = url.protocol === 'https:';
      // The kubeconfig's agent speaks TLS; a plain-HTTP server (a loopback stand-in) needs none.
      if (!tls) delete options.agent;
      const send = tls ? httpsRequest : httpRequest;
      return new Promise<Readable>((resolve, reject) => {
        const r = send(url, { ...options, signal: req.signal }, (res: IncomingMessage) => {
          if (res.statusCode === 200) {
            resolve(res);
            return;
          }
          // The apiserver explains a refusal (pod not found, container not started) in a Status.
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            if (body.length < MAX_ERROR_BODY) body += d;
          });
          res.on('end', () => reject(new LogSourceError(res.statusCode ?? 0, body.slice(0, MAX_ERROR_BODY))));
          res.on('error', (e) => reject(new LogSourceError(res.statusCode ?? 0, e.message)));
        });
        r.on('error', (e) => reject(new LogSourceError(0, e.message)));
        r.end();
      });
    },
  };
}
