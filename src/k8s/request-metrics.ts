// rest_client_requests_total for every request client-node sends (API calls and watches), counted
// at the undici dispatcher: the one place that sees each request's method, host and final status
// code, whichever generated API class sent it. Labelled as controller-runtime labels it
// (pkg/metrics/client_go_adapter.go: code, method, host; code "<error>" when no response came),
// so the same panels and alerts work for both.
import type { KubeConfig, Cluster } from '@kubernetes/client-node';
import type { AgentOptions } from 'node:https';
import type { Dispatcher } from 'undici';

export type RequestCounter = (labels: { code: string; method: string; host: string }) => void;

/** controller-runtime's host label: the URL's host[:port], as Go's url.URL.Host. */
function hostOf(origin: Dispatcher.DispatchOptions['origin']): string {
  if (!origin) return '';
  try {
    return (typeof origin === 'string' ? new URL(origin) : origin).host;
  } catch {
    return String(origin);
  }
}

/** Delegates every callback unchanged; counts the request once, at its final status or error. */
class CountingHandler implements Dispatcher.DispatchHandler {
  private counted = false;
  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly count: (code: string) => void,
  ) {}

  private once(code: string): void {
    if (this.counted) return;
    this.counted = true;
    this.count(code);
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: never, socket: never): void {
    this.once(String(statusCode));
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: never, statusMessage?: string): void {
    // 1xx are interim answers; the final one follows.
    if (statusCode >= 200) this.once(String(statusCode));
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: never): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    // An error after the status line (a watch cut off mid-stream) was already counted by its code.
    this.once('<error>');
    this.inner.onResponseError?.(controller, error);
  }
}

/** `dispatcher`, counting each request it dispatches. Shares the dispatcher's connections. */
export function countingDispatcher(dispatcher: Dispatcher, count: RequestCounter): Dispatcher {
  return dispatcher.compose((dispatch) => (opts, handler) => {
    const method = String(opts.method ?? 'GET').toUpperCase();
    const host = hostOf(opts.origin);
    return dispatch(opts, new CountingHandler(handler, (code) => count({ code, method, host })));
  });
}

type DispatcherFactory = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

/**
 * A view of `kc` whose requests are counted: it wraps whatever dispatcher `kc` would use (a pooled
 * keep-alive agent, client-node's per-request agent for watches). A cluster for which client-node
 * builds no dispatcher (undici's global one is used then) goes uncounted.
 */
export function withRequestCounting(kc: KubeConfig, count: RequestCounter): KubeConfig {
  const own = kc as unknown as { createDispatcher: DispatcherFactory };
  if (typeof own.createDispatcher !== 'function') throw new Error('client-node no longer has KubeConfig.createDispatcher: revisit withRequestCounting');
  const view = Object.create(kc) as KubeConfig;
  (view as unknown as { createDispatcher: DispatcherFactory }).createDispatcher = (cluster, agentOptions) => {
    const inner = own.createDispatcher.call(kc, cluster, agentOptions);
    return inner ? countingDispatcher(inner, count) : undefined;
  };
  return view;
}
