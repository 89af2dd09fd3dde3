// UCloud paths → subPaths inside the site's shared-storage PVC, and where they appear in a rank.
// Anything that could escape the storage root, or mean two things to two parsers, is refused
// rather than "cleaned": cleaning is where traversal bugs live, and no real UCloud path needs it.
export class PathError extends Error {
  override readonly name = 'PathError';
}

/** PATH_MAX and NAME_MAX of Linux: a longer path cannot be mounted anyway. */
export const MAX_PATH = 4096;
export const MAX_SEGMENT = 255;
/** Where files and folders appear inside every rank (IM2 and app-kubernetes use the same). */
export const WORK_DIR = '/work';

const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Decoded by some layer, these become ".", "/", "\" or NUL: a path containing them is not honest.
const ENCODED_SEPARATOR = /%(2e|2f|5c|00)/i;

/**
 * The path relative to the storage root: the UCloud path without its leading "/". Never empty,
 * never absolute, never with an empty, "." or ".." segment. Throws PathError saying why not.
 */
export function toSubPath(ucloudPath: string): string {
  if (ucloudPath.length === 0) throw new PathError('path is empty');
  if (ucloudPath.length > MAX_PATH) throw new PathError(`path is longer than ${MAX_PATH} characters`);
  if (!ucloudPath.startsWith('/')) throw new PathError('path must be absolute (start with "/")');
  if (CONTROL.test(ucloudPath)) throw new PathError('path contains control characters');
  if (LONE_SURROGATE.test(ucloudPath)) throw new PathError('path is not valid Unicode');
  if (ucloudPath.includes('\\')) throw new PathError('path contains a backslash');
  if (ENCODED_SEPARATOR.test(ucloudPath)) throw new PathError('path contains a percent-encoded dot, slash, backslash or NUL');
  // One trailing slash is how folders are sometimes written; more than one is an empty segment.
  const body = ucloudPath.slice(1).replace(/\/$/, '');
  const segments = body.split('/');
  for (const s of segments) {
    if (s === '') throw new PathError(body === '' ? 'path is the storage root' : 'path contains an empty segment ("//")');
    if (s === '.' || s === '..') throw new PathError(`path contains a "${s}" segment`);
    if (s.length > MAX_SEGMENT) throw new PathError(`path has a name longer than ${MAX_SEGMENT} characters`);
  }
  return segments.join('/');
}

export function basename(subPath: string): string {
  return subPath.slice(subPath.lastIndexOf('/') + 1);
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A drive's title as a folder name, as IM2 shows a whole mounted drive (shared/mount_paths.go
 * ResolveJobMounts: the title without "Member Files: "), or undefined when the title cannot be
 * one path segment (a "/", "." or "..", control characters, too long): the drive id is used then.
 */
export function driveTitleSegment(title: string | undefined): string | undefined {
  const name = (title ?? '').replaceAll('Member Files: ', '');
  if (name === '' || name === '.' || name === '..' || name.length > MAX_SEGMENT) return undefined;
  if (name.includes('/') || name.includes('\\') || CONTROL.test(name) || LONE_SURROGATE.test(name)) return undefined;
  return name;
}

/**
 * Mount points for distinct subPaths, in the same order: `/work/<name>`, the name being the
 * basename, or for a whole drive (one segment) its title from `driveTitles` when it has a usable
 * one. When several share a name all of them get a suffix, `-0`, `-1`, ... in subPath order, as
 * IM2 numbers them (shared/mount_paths.go), so a job's layout does not depend on the order the
 * user picked the folders in. A suffixed name that another mount already uses is skipped, which
 * IM2 does not do.
 */
export function mountPaths(subPaths: readonly string[], driveTitles: ReadonlyMap<string, string> = new Map()): string[] {
  const nameOf = (sub: string): string => (sub.includes('/') ? basename(sub) : (driveTitleSegment(driveTitles.get(sub)) ?? sub));
  const groups = new Map<string, string[]>();
  for (const sub of new Set(subPaths)) {
    const name = nameOf(sub);
    groups.set(name, [...(groups.get(name) ?? []), sub]);
  }
  const taken = new Set<string>();
  const assigned = new Map<string, string>();
  for (const [name, members] of groups) {
    if (members.length === 1) {
      taken.add(name);
      assigned.set(members[0]!, `${WORK_DIR}/${name}`);
    }
  }
  for (const name of [...groups.keys()].sort(byCodeUnit)) {
    const members = groups.get(name)!;
    if (members.length === 1) continue;
    let n = 0;
    for (const sub of [...members].sort(byCodeUnit)) {
      while (taken.has(`${name}-${n}`)) n++;
      taken.add(`${name}-${n}`);
      assigned.set(sub, `${WORK_DIR}/${name}-${n}`);
    }
  }
  return subPaths.map((sub) => assigned.get(sub)!);
}

// Where an explicit mountPath may not go. core2 and IM2 refuse /etc/ucloud, /opt/ucloud, /work
// and anything under /work (shared/pkg/orchestrators/applications.go ValidateFileMountPath); this
// provider also refuses what is under the first two (the rank files' ConfigMap is mounted at
// /etc/ucloud, and a mount inside a read-only volume cannot be made), the root itself, and the
// kernel's /proc, /sys and /dev, which user data must never shadow.
const RESERVED_MOUNT_ROOTS = ['/etc/ucloud', '/opt/ucloud', WORK_DIR, '/proc', '/sys', '/dev'];

/**
 * The container path a file value asked for with an explicit `mountPath`, or undefined when it
 * asked for none (empty or blank, as core2 treats it). Surrounding blanks are dropped as core2's
 * TrimSpace does; anything else core2's filepath.Clean would have to change (".", "..", "//",
 * a relative path) is refused, by the same rules as a UCloud path (toSubPath).
 */
export function explicitMountPath(mountPath: string | null | undefined): string | undefined {
  const trimmed = (mountPath ?? '').trim();
  if (trimmed === '') return undefined;
  if (/^\/+$/.test(trimmed)) throw new PathError('the root directory cannot be a mount point');
  const path = `/${toSubPath(trimmed)}`;
  for (const root of RESERVED_MOUNT_ROOTS) {
    if (path === root || path.startsWith(`${root}/`)) throw new PathError(`${root} and everything below it are reserved`);
  }
  return path;
}
