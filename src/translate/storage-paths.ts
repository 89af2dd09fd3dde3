// UCloud paths → paths inside the site's shared filesystem PVC. Anything that could escape the
// storage root is refused outright rather than "cleaned": a path with "..", "." or empty
// segments, control characters, backslashes or percent-encoded separators is not a UCloud path.
export class PathError extends Error {
  override readonly name = 'PathError';
}

const MAX_PATH = 4096;

export function toSubPath(ucloudPath: string): string {
  if (ucloudPath.length === 0 || ucloudPath.length > MAX_PATH) throw new PathError('path is empty or too long');
  if (!ucloudPath.startsWith('/')) throw new PathError('path must be absolute (start with "/")');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(ucloudPath)) throw new PathError('path contains control characters');
  if (ucloudPath.includes('\\')) throw new PathError('path contains a backslash');
  if (/%(2e|2f|5c|00)/i.test(ucloudPath)) throw new PathError('path contains percent-encoded separators or dots');
  const segments = ucloudPath.slice(1).replace(/\/+$/, '').split('/');
  for (const s of segments) {
    if (s === '') throw new PathError('path contains an empty segment ("//")');
    if (s === '.' || s === '..') throw new PathError(`path contains a "${s}" segment`);
  }
  return segments.join('/');
}

export function basename(subPath: string): string {
  const parts = subPath.split('/');
  return parts[parts.length - 1] || 'root';
}

/** Mount points under /work named after the file, de-duplicated like IM2 does (name, name-1, ...). */
export class MountPathAllocator {
  private readonly used = new Set<string>();

  allocate(subPath: string): string {
    const base = basename(subPath);
    let candidate = `/work/${base}`;
    for (let n = 1; this.used.has(candidate); n++) candidate = `/work/${base}-${n}`;
    this.used.add(candidate);
    return candidate;
  }
}
