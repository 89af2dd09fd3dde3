// A loopback stand-in for the kube-apiserver's exec endpoint over WebSocket
// (GET /api/v1/namespaces/{ns}/pods/{pod}/exec, subprotocol v5.channel.k8s.io / v4). kwok runs no
// containers, so nothing can be exec'ed into; the operator's real ExecPort is pointed here. It
// behaves like a TTY running a shell: stdin (channel 0) is echoed on stdout (channel 1), resizes
// (channel 4) are recorded, and a line "exit" ends the session with a Success status (channel 3).
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { LoopbackServer } from './loopback-server.js';

export interface ExecCall {
  namespace: string;
  pod: string;
  query: URLSearchParams;
  protocol: string;
  resizes: Array<{ Width: number; Height: number }>;
  stdin: string;
}

export class ExecStandIn {
  readonly calls: ExecCall[] = [];
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) =>
      protocols.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false,
  });

  private constructor(private readonly http: LoopbackServer) {
    http.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
      if (!m) return socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const call: ExecCall = { namespace: m[1]!, pod: m[2]!, query: url.searchParams, protocol: ws.protocol, resizes: [], stdin: '' };
        this.calls.push(call);
        ws.on('message', (raw: Buffer) => {
          const channel = raw[0];
          const body = raw.subarray(1);
          if (channel === 0) {
            call.stdin += body.toString('utf8');
            ws.send(Buffer.concat([Buffer.from([1]), body]));
            if (/(^|\n)exit\n/.test(call.stdin)) {
              ws.send(Buffer.concat([Buffer.from([3]), Buffer.from('{"metadata":{},"status":"Success"}')]));
              ws.close(1000);
            }
          } else if (channel === 4) {
            call.resizes.push(JSON.parse(body.toString('utf8')));
          }
        });
      });
    });
  }

  static async start(): Promise<ExecStandIn> {
    return new ExecStandIn(await new LoopbackServer(createServer((_req, res) => res.writeHead(400).end())).listen());
  }

  get url(): string {
    return `http://127.0.0.1:${this.http.port}`;
  }

  get openConnections(): number {
    return this.http.openConnections;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
