// docs/architecture.md's module table is where a newcomer looks a file up, so it must name every
// file under src/. A row names files by path (`src/x/y.ts`) or, after its first path, by a name
// relative to that path's directory (`src/x/y.ts`, `z.ts` names src/x/z.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const REPO = new URL('../../../', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(REPO, join(dir, e.name))] : [],
  );
}

/** The files a table row names. */
function namedIn(row: string): string[] {
  const cell = row.split('|')[1] ?? '';
  const paths = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const base = paths[0]?.endsWith('/') ? paths[0] : dirname(paths[0] ?? '');
  return paths.map((p) => (p.startsWith('src/') ? p : join(base, p)));
}

describe("docs/architecture.md's module table", () => {
  const doc = readFileSync(join(REPO, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Modules'), doc.indexOf('\n## ', doc.indexOf('## Modules') + 1));
  const named = new Set(
    section
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap(namedIn),
  );

  it('names every file under src/', () => {
    expect(sourceFiles(join(REPO, 'src')).filter((f) => !named.has(f))).toEqual([]);
  });

  it('names no file that does not exist', () => {
    const files = new Set(sourceFiles(join(REPO, 'src')));
    expect([...named].filter((f) => !files.has(f))).toEqual([]);
  });
});
