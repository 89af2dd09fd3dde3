// Back-pressure for one WebSocket. Log text is sent as fast as the client reads it and no faster:
// once more than `highWater` bytes wait in the socket's buffer, `blocked` is true and producers
// pause their log streams (so the apiserver's TCP window closes); each completed send checks the
// buffer again and, once it is at or below `lowWater`, resumes whoever paused. Memory per socket is
// thus bounded by highWater plus one chunk per producer, whatever the client's speed. `peakBuffered`
// records the largest buffer the socket has had (the buffer only grows in send), so that bound can
// be checked on a running operator (test/realnode/follow-back-pressure.test.ts).
export interface GateSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string, cb?: (err?: Error) => void): void;
}

const OPEN = 1;

export class SendGate {
  private waiters: Array<() => void> = [];
  /** The most bytes this socket's send buffer has held. */
  peakBuffered = 0;
  constructor(
    private readonly ws: GateSocket,
    readonly highWater = 1024 * 1024,
    readonly lowWater = 256 * 1024,
  ) {}

  get blocked(): boolean {
    return this.ws.bufferedAmount > this.highWater;
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  send(frame: string): void {
    if (!this.open) return;
    this.ws.send(frame, () => this.check());
    this.peakBuffered = Math.max(this.peakBuffered, this.ws.bufferedAmount);
  }

  /** Runs `resume` once the buffer has drained to lowWater (at once if it already has). */
  whenDrained(resume: () => void): void {
    if (this.ws.bufferedAmount <= this.lowWater) resume();
    else this.waiters.push(resume);
  }

  /** Forgets every waiter (the socket is gone). */
  clear(): void {
    this.waiters = [];
  }

  private check(): void {
    if (!this.waiters.length || this.ws.bufferedAmount > this.lowWater) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
