// Turning a log byte stream into text for UCloud: split into lines (the pod-log API prefixes
// each with its timestamp), drop bytes that are not UTF-8 (the spec: "invalid bytes ... should be
// ignored and skipped"; a U+FFFD replacement would be a character the program never wrote).

/**
 * Decodes `bytes` as UTF-8, skipping every byte that does not start or belong to a well-formed
 * sequence (overlong forms, surrogates and code points above U+10FFFF are malformed too).
 */
export function decodeUtf8Dropping(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  const n = bytes.length;
  let runStart = 0; // start of a run of valid bytes not yet copied
  const flush = (end: number) => {
    if (end > runStart) out += Buffer.from(bytes.buffer, bytes.byteOffset + runStart, end - runStart).toString('utf8');
  };
  while (i < n) {
    const b = bytes[i]!;
    let len = 0;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) len = 3;
    else if (b >= 0xf0 && b <= 0xf4) len = 4;
    let ok = len > 0 && i + len <= n;
    if (ok && len > 1) {
      const b1 = bytes[i + 1]!;
      // Second-byte ranges that exclude overlongs, surrogates and > U+10FFFF.
      const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
      const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
      ok = b1 >= lo && b1 <= hi;
      for (let k = 2; ok && k < len; k++) ok = (bytes[i + k]! & 0xc0) === 0x80;
    }
    if (ok) {
      i += len;
    } else {
      flush(i);
      i += 1;
      runStart = i;
    }
  }
  flush(n);
  return out;
}

/** Length of the sequence a UTF-8 lead byte starts (0: not a lead byte). */
function seqLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** How many bytes at the end of `bytes` begin a UTF-8 sequence that the next chunk may complete. */
export function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const len = seqLength(b);
    return len > back ? back : 0;
  }
  return 0;
}

/**
 * decodeUtf8Dropping over a stream of chunks (a terminal's output): a character split across two
 * chunks is decoded whole instead of being dropped as two invalid halves.
 */
export class Utf8Decoder {
  private carry: Buffer = Buffer.alloc(0);
  push(chunk: Uint8Array): string {
    const bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk);
    const keep = incompleteTail(bytes);
    this.carry = Buffer.from(bytes.subarray(bytes.length - keep));
    return decodeUtf8Dropping(bytes.subarray(0, bytes.length - keep));
  }
}

/** Splits a byte stream into lines (without the '\n'); a line longer than `maxLine` is cut. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly maxLine = 64 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      this.parts.push(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.parts));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    let rest = chunk.subarray(start);
    while (this.size + rest.length >= this.maxLine) {
      // Cut before a character that would be split (when the line has room to give).
      let take = this.maxLine - this.size;
      const tail = incompleteTail(rest.subarray(0, take));
      if (tail < take) take -= tail;
      this.parts.push(rest.subarray(0, take));
      lines.push(Buffer.concat(this.parts));
      this.parts = [];
      this.size = 0;
      rest = rest.subarray(take);
    }
    if (rest.length) {
      this.parts.push(rest);
      this.size += rest.length;
    }
    return lines;
  }

  /** What is left at the end of the stream (a last line without '\n'). */
  end(): Buffer | undefined {
    if (!this.size) return undefined;
    const last = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return last;
  }
}

/** A line of `timestamps=true` output: `2026-12-01T13:30:39.123456789Z text`. */
export interface StampedLine {
  /** Nanoseconds since the epoch, for ordering; undefined when the line has no timestamp. */
  at?: bigint;
  stamp?: string;
  text: Buffer;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

export function parseStamp(stamp: string): bigint | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function splitStamp(line: Buffer): StampedLine {
  const sp = line.indexOf(0x20);
  if (sp > 0 && sp <= 40) {
    const stamp = line.subarray(0, sp).toString('latin1');
    const at = parseStamp(stamp);
    if (at !== undefined) return { at, stamp, text: line.subarray(sp + 1) };
  }
  return { text: line };
}
