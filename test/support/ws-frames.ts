// A real `ws` client that records UCloud envelope frames, for the follow and terminal tests.
import WebSocket from 'ws';
import { eventually } from './harness.js';

export interface Frame {
  type?: string;
  status?: number;
  streamId?: string;
  payload?: any;
  [k: string]: unknown;
}

export class FrameClient {
  readonly frames: Frame[] = [];
  readonly upgradeHeaders: Record<string, string | string[] | undefined>;
  closed = false;

  private constructor(
    readonly ws: WebSocket,
    headers: Record<string, string | string[] | undefined>,
  ) {
    this.upgradeHeaders = headers;
    ws.on('message', (data) => this.frames.push(JSON.parse(data.toString('utf8')) as Frame));
    ws.on('close', () => (this.closed = true));
  }

  /** Connects; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      let upgrade: Record<string, string | string[] | undefined> = {};
      ws.once('upgrade', (res) => (upgrade = res.headers));
      ws.once('open', () => resolve(new FrameClient(ws, upgrade)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  on(streamId: string): Frame[] {
    return this.frames.filter((f) => f.streamId === streamId);
  }
  /** The terminal output a stream has carried so far: its `data` frames' text, in order. */
  dataOn(streamId: string): string {
    return this.on(streamId)
      .filter((f) => f.payload?.type === 'data')
      .map((f) => f.payload.data)
      .join('');
  }

  /**
   * A follow stream's log text of one rank so far, as UCloud's web client reads it: the messages
   * without a `channel` (those with one carry utilization charts, docs/adr/0027).
   */
  followText(streamId: string, rank: number): string {
    return this.on(streamId)
      .filter((f) => f.type === 'message' && f.payload?.rank === rank && f.payload?.channel == null)
      .map((f) => f.payload.stdout ?? '')
      .join('');
  }

  /** Waits for a frame matching `pred` and returns it. */
  waitFor(pred: (f: Frame) => boolean, what: string, timeoutMs = 30_000): Promise<Frame> {
    return eventually(() => this.frames.find(pred), what, timeoutMs);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
