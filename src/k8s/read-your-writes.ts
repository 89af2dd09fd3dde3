// Read-your-writes over an informer cache. A controller that writes an object sees its write in
// the cache only when the watch delivers it; until then it must act on what it wrote, or it
// resends, recharges or rewrites. One helper keeps that local copy per key, with the
// resourceVersion the apiserver answered, and drops it as soon as the cache holds that version or
// a newer one (or another incarnation of the name): the cache is the source again from then on.
// Only the fields the writer owns are kept (an overlay), so a newer write by another controller
// that the cache already shows is never hidden behind an old copy.

interface Written<O> {
  uid?: string;
  resourceVersion?: string;
  overlay: O;
}

interface Versioned {
  metadata?: { uid?: string; resourceVersion?: string };
}

/**
 * Whether `cached` is at least `written`. resourceVersions are opaque to clients, but every
 * apiserver backed by etcd hands out its revision, a decimal integer that only grows; anything
 * else is compared for equality only (the copy is then dropped when that very version arrives).
 */
export function caughtUp(cached: string | undefined, written: string | undefined): boolean {
  if (cached === undefined || written === undefined) return false;
  if (/^\d+$/.test(cached) && /^\d+$/.test(written)) return BigInt(cached) >= BigInt(written);
  return cached === written;
}

export class ReadYourWrites<T extends Versioned, O> {
  private readonly written = new Map<string, Written<O>>();

  /**
   * `shows`: the cached object already holds the overlay (or more). Copies kept without a version
   * (write-behind: remembered, not written yet) are dropped only by it.
   */
  constructor(private readonly shows: (cached: T, overlay: O) => boolean) {}

  /**
   * Records what this process wrote (or, without `stored`, decided and will write) to `key`, and
   * the object the apiserver answered with.
   */
  wrote(key: string, stored: Versioned | undefined, overlay: O, uid?: string): void {
    // The incarnation is the one the writer acted on (its earlier record), else the answer's.
    this.written.set(key, { uid: uid ?? this.written.get(key)?.uid ?? stored?.metadata?.uid, resourceVersion: stored?.metadata?.resourceVersion, overlay });
  }

  /**
   * What this process wrote to `key` that the cached object does not show yet; undefined once the
   * cache has caught up (the copy is dropped then). A cached object of another uid wins for good.
   */
  pending(key: string, cached: T | undefined): O | undefined {
    const w = this.written.get(key);
    if (!w) return undefined;
    if (
      cached &&
      ((w.uid && cached.metadata?.uid && cached.metadata.uid !== w.uid) ||
        caughtUp(cached.metadata?.resourceVersion, w.resourceVersion) ||
        this.shows(cached, w.overlay))
    ) {
      this.written.delete(key);
      return undefined;
    }
    return w.overlay;
  }

  /** Every copy not yet shown by the cache, with its key (a stop's final write-behind flush). */
  entries(): Array<[string, O]> {
    return [...this.written].map(([k, w]) => [k, w.overlay]);
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** Drops copies of keys the cache no longer has (deleted objects). */
  retain(exists: (key: string) => boolean): void {
    for (const key of this.written.keys()) if (!exists(key)) this.written.delete(key);
  }

  get size(): number {
    return this.written.size;
  }
}
