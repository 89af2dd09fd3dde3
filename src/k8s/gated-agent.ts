// A keep-alive https.Agent that keeps its own queue. client-node 1.x sends requests with
// node-fetch 2.x, which fails a chunked response with a false "Premature close" when the response's
// socket already carries the next request by the time the response emits 'close' (node-fetch
// #1767). Node's own queue (maxSockets) does exactly that: it hands a freed socket to the next
// queued request synchronously. Measured at 1,000 jobs with maxSockets 32: ~900 failed writes per
// run (a quarter of all), retried by requeues. Here the base agent never queues (maxSockets is
// unbounded) and at most `limit` requests are in flight; a waiting request starts a macrotask after
// one ends, when the finished response has emitted 'close' and its socket is idle in the pool.
import type { ClientRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';

type AddRequest = (req: ClientRequest, options: unknown) => void;

export class GatedAgent extends HttpsAgent {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    options: AgentOptions,
    private readonly limit: number,
  ) {
    super({ ...options, keepAlive: true, maxSockets: Infinity, maxFreeSockets: limit });
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  // Node calls addRequest for every request using this agent (not in @types/node's Agent).
  addRequest(req: ClientRequest, options: unknown): void {
    const start = (): void => {
      // Aborted while it waited: it never reaches a socket, and takes no turn.
      if (req.destroyed) return;
      this.active++;
      try {
        (HttpsAgent.prototype as unknown as { addRequest: AddRequest }).addRequest.call(this, req, options);
      } catch (e) {
        // e.g. TLS options Node rejects: the request fails, and its turn is free again.
        this.active--;
        req.destroy(e as Error);
        return;
      }
      req.once('close', () =>
        setImmediate(() => {
          this.active--;
          this.next();
        }),
      );
    };
    this.waiting.push(start);
    this.next();
  }

  private next(): void {
    while (this.active < this.limit && this.waiting.length) this.waiting.shift()!();
  }
}
