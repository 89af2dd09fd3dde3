import fc from 'fast-check';
import { MountPathAllocator, PathError, toSubPath } from '../../../src/translate/storage-paths.js';

describe('toSubPath', () => {
  it.each([
    ['/123/Jobs/run', '123/Jobs/run'],
    ['/projects/p1/data/', 'projects/p1/data'],
    ['/a/b c/ü.txt', 'a/b c/ü.txt'],
  ])('accepts %s', (input, expected) => expect(toSubPath(input)).toBe(expected));

  it.each([
    '',
    'relative/path',
    '/a/../b',
    '/..',
    '/a/./b',
    '/a//b',
    '/a/%2e%2e/b',
    '/a/%2F/b',
    '/a\\..\\b',
    '/a/\u0000/b',
    '/a/\n/b',
    '/' + 'x'.repeat(5000),
  ])('rejects %j', (input) => expect(() => toSubPath(input)).toThrow(PathError));

  it('never yields a subPath that escapes the storage root (property)', () => {
    const segment = fc.oneof(fc.constantFrom('..', '.', '', '%2e%2e', 'a', 'b', '\\..', '…'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.boolean(), (segments, leadingSlash) => {
        const path = (leadingSlash ? '/' : '') + segments.join('/');
        let sub: string;
        try {
          sub = toSubPath(path);
        } catch (e) {
          return e instanceof PathError;
        }
        return !sub.startsWith('/') && !sub.split('/').some((s) => s === '..' || s === '.' || s === '') && !sub.includes('\\');
      }),
      { numRuns: 5000 },
    );
  });

  it('allocates /work mount points de-duplicated by basename', () => {
    const a = new MountPathAllocator();
    expect([a.allocate('x/data'), a.allocate('y/data'), a.allocate('z/data'), a.allocate('in.csv')]).toEqual([
      '/work/data',
      '/work/data-1',
      '/work/data-2',
      '/work/in.csv',
    ]);
  });
});
