import fc from 'fast-check';
import { decodeUtf8Dropping, LineSplitter, parseStamp, splitStamp, Utf8Decoder } from '../../../../src/adapter/follow/text.js';
import { parseFollowRequest, parseRequestFrame } from '../../../../src/adapter/follow/protocol.js';

describe('decodeUtf8Dropping', () => {
  it('keeps valid UTF-8 as is', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => decodeUtf8Dropping(Buffer.from(s, 'utf8')) === s));
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80, 0x62], 'ab'],
    ['0xFF', [0x61, 0xff, 0x62], 'ab'],
    ['a truncated 2-byte sequence', [0x61, 0xc3], 'a'],
    ['a truncated 3-byte sequence before ASCII', [0xe2, 0x82, 0x41], 'A'],
    ['an overlong "/"', [0xc0, 0xaf, 0x41], 'A'],
    ['an overlong 3-byte NUL', [0xe0, 0x80, 0x80, 0x41], 'A'],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80, 0x41], 'A'],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80, 0x41], 'A'],
  ])('drops %s (no U+FFFD)', (_what, bytes, expected) => {
    expect(decodeUtf8Dropping(Buffer.from(bytes))).toBe(expected);
  });

  it('never yields U+FFFD for arbitrary bytes that do not contain its encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const out = decodeUtf8Dropping(bytes);
        const hasFffd = Buffer.from(bytes).includes(Buffer.from([0xef, 0xbf, 0xbd]));
        return hasFffd || !out.includes('\uFFFD');
      }),
    );
  });
});

describe('LineSplitter', () => {
  it('reassembles lines split across chunks, whatever the split', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, '')),
          { maxLength: 10 },
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        (lines, cuts) => {
          const all = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const points = [...new Set(cuts.map((c) => (all.length ? c % all.length : 0)))].sort((a, b) => a - b);
          const splitter = new LineSplitter();
          const out: string[] = [];
          let prev = 0;
          for (const p of [...points, all.length]) {
            out.push(...splitter.push(all.subarray(prev, p)).map((b) => b.toString('utf8')));
            prev = p;
          }
          expect(splitter.end()).toBeUndefined();
          expect(out).toEqual(lines);
        },
      ),
    );
  });

  it('cuts a line longer than the limit and keeps the tail for end()', () => {
    const s = new LineSplitter(4);
    expect(s.push(Buffer.from('abcdefghij')).map(String)).toEqual(['abcd', 'efgh']);
    expect(String(s.end())).toBe('ij');
  });
});

describe('timestamps', () => {
  it('parses RFC 3339 with nanoseconds and orders them', () => {
    expect(parseStamp('2026-12-01T10:00:00.000000001Z')! - parseStamp('2026-12-01T10:00:00Z')!).toBe(1n);
    expect(parseStamp('2026-12-01T10:00:00.5+01:00')).toBe(parseStamp('2026-12-01T09:00:00.500Z'));
    expect(parseStamp('yesterday')).toBeUndefined();
  });

  it('splits the stamp from the text; a line without one is all text', () => {
    const line = splitStamp(Buffer.from('2026-12-01T10:00:00.25Z hello world'));
    expect(line.stamp).toBe('2026-12-01T10:00:00.25Z');
    expect(String(line.text)).toBe('hello world');
    expect(splitStamp(Buffer.from('no stamp here'))).toEqual({ text: Buffer.from('no stamp here') });
  });
});

describe('follow protocol', () => {
  it('drops frames that do not parse and keep-alives', () => {
    expect(parseRequestFrame('not json')).toBeUndefined();
    expect(parseRequestFrame('{"ping":"pong"}')).toBeUndefined();
    expect(parseRequestFrame('[1,2]')).toBeUndefined();
    expect(parseRequestFrame('{"call":"x","streamId":"0","payload":{},"bearer":"t"}')).toMatchObject({ call: 'x', streamId: '0' });
  });

  it('reads init and cancel; anything else is a 400 naming the field', () => {
    expect(parseFollowRequest({ type: 'init', job: { id: '1', specification: {} } })).toMatchObject({ ok: true, value: { type: 'init', job: { id: '1' } } });
    expect(parseFollowRequest({ type: 'cancel', streamId: 's' })).toEqual({ ok: true, value: { type: 'cancel', streamId: 's' } });
    expect(parseFollowRequest({ type: 'init' })).toMatchObject({ ok: false, why: expect.stringMatching(/^payload\.job: /) });
    expect(parseFollowRequest({ type: 'resume' })).toMatchObject({ ok: false });
  });
});

describe('Utf8Decoder (terminal output in chunks)', () => {
  it('decodes characters split across chunks, whatever the split', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.array(fc.nat(), { maxLength: 6 }), (s, cuts) => {
        const all = Buffer.from(s, 'utf8');
        const points = [...new Set(cuts.map((c) => (all.length ? c % all.length : 0)))].sort((a, b) => a - b);
        const d = new Utf8Decoder();
        let out = '';
        let prev = 0;
        for (const p of [...points, all.length]) {
          out += d.push(all.subarray(prev, p));
          prev = p;
        }
        return out === s;
      }),
    );
  });

  it('still drops bytes that can never become UTF-8', () => {
    const d = new Utf8Decoder();
    expect(d.push(Buffer.from([0x61, 0xff]))).toBe('a');
    expect(d.push(Buffer.from([0xc3]))).toBe('');
    expect(d.push(Buffer.from([0xa9, 0x62]))).toBe('éb');
  });
});

describe('LineSplitter cuts long lines between characters', () => {
  it('never splits a multi-byte character when cutting', () => {
    const s = new LineSplitter(5);
    const parts = s.push(Buffer.from('aaaé€x\n', 'utf8')).map((b) => b.toString('utf8'));
    expect(parts.join('')).toBe('aaaé€x');
    expect(parts.every((p) => !p.includes('\uFFFD'))).toBe(true);
  });
});
