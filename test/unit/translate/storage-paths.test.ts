import { posix } from 'node:path';
import fc from 'fast-check';
import { basename, MAX_PATH, mountPaths, PathError, toSubPath } from '../../../src/translate/storage-paths.js';

describe('toSubPath', () => {
  it.each([
    ['/123/Jobs/x', '123/Jobs/x'],
    ['/projects/p/data', 'projects/p/data'],
    ['/123', '123'],
    ['/projects/p1/data/', 'projects/p1/data'],
    ['/a/b c/ü.txt', 'a/b c/ü.txt'],
    ['/a/...', 'a/...'],
    ['/a/..b/.c/d..', 'a/..b/.c/d..'],
    ['/a/50%/%41', 'a/50%/%41'],
    ['/a/😀', 'a/😀'],
    ['/' + 'x'.repeat(255), 'x'.repeat(255)],
  ])('accepts %j', (input, expected) => expect(toSubPath(input)).toBe(expected));

  it.each([
    ['empty', ''],
    ['relative', 'relative/path'],
    ['relative with dot', './a'],
    ['the storage root', '/'],
    ['the storage root twice', '//'],
    ['a leading double slash', '//a'],
    ['a doubled slash', '/a//b'],
    ['two trailing slashes', '/a//'],
    ['a parent segment', '/a/../b'],
    ['only a parent segment', '/..'],
    ['a trailing parent segment', '/a/..'],
    ['a trailing parent segment and slash', '/a/../'],
    ['a dot segment', '/a/./b'],
    ['a trailing dot segment', '/a/.'],
    ['encoded dots', '/a/%2e%2e/b'],
    ['upper-case encoded dots', '/a/%2E%2E/b'],
    ['mixed encoded dot', '/a/.%2e/b'],
    ['an encoded slash', '/a/%2F/b'],
    ['an encoded slash, lower case', '/a%2fb'],
    ['an encoded backslash', '/a/%5c..'],
    ['an encoded NUL', '/a/%00'],
    ['a backslash', '/a\\..\\b'],
    ['a lone backslash', '/a\\b'],
    ['NUL', '/a/\u0000/b'],
    ['a newline', '/a/\n/b'],
    ['a tab', '/a/\tb'],
    ['DEL', '/a/\u007f'],
    ['a C1 control character', '/a/\u0085b'],
    ['a lone surrogate', '/a/\ud800b'],
    ['an over-long path', '/' + 'x/'.repeat(MAX_PATH / 2) + 'x'],
    ['an over-long name', '/' + 'x'.repeat(256)],
  ])('rejects %s', (_name, input) => expect(() => toSubPath(input)).toThrow(PathError));

  const hostileSegment = fc.oneof(
    fc.constantFrom('..', '.', '', '%2e%2e', '%2E.', '.%2e', '%2f', '%5C', '\\..', '..\\', '...', '. .', '\u0000', '\n', 'a', 'b', 'ü', '😀'),
    fc.string({ maxLength: 6 }),
    fc.string({ unit: 'binary', maxLength: 4 }),
  );
  const hostilePath = fc
    .tuple(fc.array(hostileSegment, { maxLength: 8 }), fc.constantFrom('', '/', '//'), fc.constantFrom('', '/', '//'))
    .map(([segments, lead, trail]) => lead + segments.join('/') + trail);

  it('never yields a subPath that escapes the storage root (property)', () => {
    fc.assert(
      fc.property(hostilePath, (path) => {
        let sub: string;
        try {
          sub = toSubPath(path);
        } catch (e) {
          return e instanceof PathError;
        }
        const segments = sub.split('/');
        return (
          sub.length > 0 &&
          !sub.startsWith('/') &&
          !segments.includes('..') &&
          !segments.includes('.') &&
          !segments.includes('') &&
          !sub.includes('\\') &&
          !/%2[ef]/i.test(sub) &&
          // Resolved against a root the way a kubelet joins a subPath, it lands strictly inside it.
          posix.resolve('/root', sub).startsWith('/root/') &&
          posix.normalize(sub) === sub
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every ordinary path unchanged but for the leading slash (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9 _\-+()æøå]{1,20}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 10 }), (names) => {
        expect(toSubPath('/' + names.join('/'))).toBe(names.join('/'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('mountPaths', () => {
  it('mounts each folder at /work/<basename>', () => {
    expect(mountPaths(['123/Jobs/x', 'projects/p/data', 'u/in.csv'])).toEqual(['/work/x', '/work/data', '/work/in.csv']);
  });

  // IM2: shared/mount_paths.go ResolveJobMounts numbers a shared name from 0, in sorted order.
  it('suffixes every mount that shares a basename, -0, -1, ... in subPath order, as IM2 does', () => {
    expect(mountPaths(['z/data', 'x/data', 'other', 'y/data'])).toEqual(['/work/data-2', '/work/data-0', '/work/other', '/work/data-1']);
  });

  it('names a whole drive by its title, without IM2\'s "Member Files: " prefix, else by its id', () => {
    const titles = new Map([
      ['4711', 'Home'],
      ['99', 'Member Files: alice#1234'],
      ['5', 'a/b'],
      ['6', '..'],
    ]);
    expect(mountPaths(['4711', '99', '5', '6', '7'], titles)).toEqual(['/work/Home', '/work/alice#1234', '/work/5', '/work/6', '/work/7']);
  });

  it('suffixes a drive title that another mount also gets', () => {
    expect(mountPaths(['4711', 'p/Home', 'q/Home'], new Map([['4711', 'Home']]))).toEqual(['/work/Home-0', '/work/Home-1', '/work/Home-2']);
  });

  it('gives the same layout whatever order the folders come in', () => {
    const subs = ['b/data', 'a/data', 'c/in'];
    const forward = new Map(subs.map((s, i) => [s, mountPaths(subs)[i]]));
    const reversed = [...subs].reverse();
    expect(new Map(reversed.map((s, i) => [s, mountPaths(reversed)[i]]))).toEqual(forward);
  });

  it('never hands out a name another mount already uses', () => {
    expect(mountPaths(['a/data', 'b/data', 'c/data-0'])).toEqual(['/work/data-1', '/work/data-2', '/work/data-0']);
  });

  it('treats repeated subPaths as one mount', () => {
    expect(mountPaths(['a/data', 'a/data'])).toEqual(['/work/data', '/work/data']);
  });

  it('is injective over distinct subPaths (property)', () => {
    const sub = fc.array(fc.constantFrom('a', 'b', 'data', 'data-1', 'data-2', 'x-1'), { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(sub, { maxLength: 12 }), (subs) => {
        const paths = mountPaths(subs);
        expect(new Set(paths).size).toBe(subs.length);
        paths.forEach((m, i) => expect(m.startsWith(`/work/${basename(subs[i]!)}`)).toBe(true));
      }),
      { numRuns: 300 },
    );
  });
});
