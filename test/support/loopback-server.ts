// An HTTP(S) server of a test on 127.0.0.1 (a port the kernel picks) that keeps track of the
// connections clients have open: the stand-ins for kube-apiserver endpoints count them to prove
// that nothing is left behind, and close() ends them so the server (and Jest) can stop.
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class LoopbackServer {
  private readonly sockets = new Set<Socket>();
  /** Connections accepted since start (or the last resetAccepted). */
  accepted = 0;

  /** `event`: 'secureConnection' for an HTTPS server (count TLS sessions, not TCP ones). */
  constructor(
    readonly server: Server,
    event: 'connection' | 'secureConnection' = 'connection',
  ) {
    server.on(event, (s: Socket) => {
      this.accepted++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections from clients that are still open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
