// A list+watch cache for one resource, in the spirit of client-go's reflector and KFC's Watcher.
// Why not client-node's ListWatch: restarting it while a watch is open aborts the old request,
// and that abort later arrives as an error that tears down the new watch; it also stops for good
// on any non-410 error. Here every watch carries a generation so stale callbacks are ignored,
// errors restart with backoff, 410 Gone relists, and a periodic relist (diffed against the cache)
// catches watches that went quiet without an error (kubernetes-client/javascript #364, #596).
// Handlers only receive objects to derive keys from; cached objects must never be mutated.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { isGone } from './errors.js';
import type { ListPage, Listed } from './kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { keyOf, objectKey } from './object-key.js';

/** The part of an object the cache needs; UCloudJob (zod-typed) and V1Pod both fit. */
export interface CachedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}
type KubernetesObject = CachedObject;

export interface InformerOptions<T extends CachedObject> {
  kc: KubeConfig;
  /** Watch path, e.g. /api/v1/namespaces/ns/pods */
  path: string;
  /** One page of the list; the informer follows `continue` until the last page. */
  list: (page: ListPage) => Promise<Listed<unknown>>;
  /** Objects per list page (default 500, client-go's reflector default). */
  pageSize?: number;
  labelSelector?: string;
  resource: string;
  logger: Logger;
  metrics?: OperatorMetrics;
  /** Full relist interval; catches watches that went quiet without an error. 0 disables. */
  relistIntervalMs?: number;
  /** Trims objects before caching (e.g. pods to the fields the reconciler reads) to bound memory. */
  transform?: (obj: unknown) => T;
  /** Secondary index (e.g. pods by owning job); byIndex() answers from it without a scan. */
  indexBy?: (obj: T) => string | undefined;
  /** A watch that receives nothing for this long is ended and resumed (client-node's default: 30 s). */
  watchInactivityMs?: number;
}

export type ChangeKind = 'add' | 'update' | 'delete';
export type ChangeHandler<T> = (obj: T, kind: ChangeKind) => void;

export class Informer<T extends CachedObject> {
  private readonly objects = new Map<string, T>();
  private readonly index = new Map<string, Map<string, T>>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private resourceVersion = '';
  private generation = 0;
  private abort?: AbortController;
  private synced = false;
  private watchOpen = false;
  private stopped = true;
  private restartDelayMs = 500;
  private relistTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private readonly watch: Watch;

  constructor(private readonly opts: InformerOptions<T>) {
    this.watch = new Watch(opts.kc);
    // requestTimeoutMs is private in the typings (the version is pinned; informer-watch.test.ts uses it).
    if (opts.watchInactivityMs !== undefined) (this.watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = opts.watchInactivityMs;
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * True while a watch is open (after a successful list); false while it is being re-established.
   * Between the two the cache may miss changes (e.g. through a kube-apiserver restart).
   */
  get watching(): boolean {
    return this.watchOpen;
  }

  get size(): number {
    return this.objects.size;
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  get(namespace: string, name: string): T | undefined {
    return this.objects.get(objectKey(namespace, name));
  }

  /** Objects whose indexBy value is `value` (empty when no index is configured). */
  byIndex(value: string): T[] {
    const bucket = this.index.get(value);
    return bucket ? [...bucket.values()] : [];
  }

  private put(key: string, obj: T): T | undefined {
    const old = this.objects.get(key);
    if (old) this.unindex(key, old);
    this.objects.set(key, obj);
    const iv = this.opts.indexBy?.(obj);
    if (iv !== undefined) {
      let bucket = this.index.get(iv);
      if (!bucket) this.index.set(iv, (bucket = new Map()));
      bucket.set(key, obj);
    }
    return old;
  }

  private remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (old) {
      this.unindex(key, old);
      this.objects.delete(key);
    }
    return old;
  }

  private unindex(key: string, obj: T): void {
    const iv = this.opts.indexBy?.(obj);
    if (iv === undefined) return;
    const bucket = this.index.get(iv);
    bucket?.delete(key);
    if (bucket && bucket.size === 0) this.index.delete(iv);
  }

  /** Lists, fills the cache and starts watching; resolves once the first list is cached. */
  async start(): Promise<void> {
    this.stopped = false;
    // The first list is retried: right after a CRD is installed (or while the apiserver
    // restarts) it answers 503 "storage is (re)initializing" for a few seconds, and an
    // operator that crash-loops on that is worse than one that waits.
    for (let delay = 200; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.relist();
        break;
      } catch (err) {
        if (this.stopped) return;
        this.opts.logger.warn('Initial list failed, retrying', { resource: this.opts.resource, delayMs: delay, err });
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopped) return;
      }
    }
    this.scheduleRelist();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watchOpen = false;
    this.opts.metrics?.watchStopped(this.opts.resource);
    this.generation++;
    clearTimeout(this.relistTimer);
    clearTimeout(this.restartTimer);
    this.abort?.abort();
    this.abort = undefined;
  }

  private emit(obj: T, kind: ChangeKind): void {
    for (const h of this.handlers) {
      try {
        h(obj, kind);
      } catch (e) {
        this.opts.logger.error('Informer handler failed', { resource: this.opts.resource, err: e });
      }
    }
  }

  /** The apiserver answered: a list, a watch opened, an event or a bookmark (watch staleness). */
  private touch(): void {
    this.opts.metrics?.watchHeardFrom(this.opts.resource);
  }

  private toCached(raw: unknown): T {
    return this.opts.transform ? this.opts.transform(raw) : (raw as T);
  }

  /**
   * Full list, diffed against the cache (emitting add/update/delete), then a fresh watch. Listed in
   * pages, each transformed as it arrives: with 10,000 jobs the raw JSON of every pod at once would
   * be a burst of hundreds of MiB that V8 keeps as heap long after it is garbage.
   */
  private async relist(): Promise<void> {
    const gen = ++this.generation;
    this.watchOpen = false;
    this.abort?.abort();
    this.abort = undefined;
    const seen = new Set<string>();
    let resourceVersion: string;
    let next: string | undefined;
    do {
      const page = await this.opts.list({ limit: this.opts.pageSize ?? 500, continue: next }).catch((e: unknown) => {
        // 410 here is an expired continue token (the list took longer than etcd keeps a
        // revision), not a stale watch: retry the list after the usual backoff, not at once.
        throw isGone(e) ? new Error(`list of ${this.opts.resource} expired between pages (410)`) : e;
      });
      if (gen !== this.generation || this.stopped) return;
      for (const raw of page.items) {
        const obj = this.toCached(raw);
        const key = keyOf(obj);
        seen.add(key);
        const old = this.put(key, obj);
        if (!old) this.emit(obj, 'add');
        else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit(obj, 'update');
      }
      // Every page of one list carries the snapshot's resourceVersion; the watch resumes from it.
      resourceVersion = page.resourceVersion;
      next = page.continue;
    } while (next);
    for (const [key, old] of this.objects) {
      if (!seen.has(key)) {
        this.remove(key);
        this.emit(old, 'delete');
      }
    }
    this.resourceVersion = resourceVersion;
    this.synced = true;
    this.touch();
    await this.startWatch(gen);
  }

  private async startWatch(gen: number): Promise<void> {
    const query: Record<string, string | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
    };
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    const controller = await this.watch.watch(
      this.opts.path,
      query,
      (type: string, obj: KubernetesObject & { code?: number }) => {
        if (gen !== this.generation) return;
        this.onEvent(type, obj);
      },
      (err: unknown) => {
        if (gen !== this.generation || this.stopped) return;
        this.onWatchEnd(err);
      },
    );
    if (gen !== this.generation) controller.abort();
    else {
      this.abort = controller;
      this.watchOpen = true;
      // A quiet resource still hears from the apiserver: client-node ends a watch idle for 30 s and
      // it is resumed here, so a healthy watch is never much staler than that.
      this.touch();
    }
  }

  private onEvent(type: string, raw: KubernetesObject & { code?: number }): void {
    this.touch();
    if (type === 'ERROR') {
      // 410 Gone: our resourceVersion is too old; the watch ends and we relist.
      if (raw.code === 410) this.resourceVersion = '';
      return;
    }
    const rv = raw.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    const obj = this.toCached(raw);
    const key = keyOf(obj);
    if (type === 'DELETED') {
      const old = this.remove(key);
      this.emit(old ?? obj, 'delete');
      return;
    }
    const old = this.put(key, obj);
    this.emit(obj, old ? 'update' : 'add');
  }

  private onWatchEnd(err: unknown): void {
    this.watchOpen = false;
    const gone = !!err && isGone(err);
    // client-node 2.x ends a watch that sent nothing (not even a bookmark) for 30 s with a
    // TimeoutError: a quiet resource, not a failure, so it resumes from the last resourceVersion
    // like a normal close instead of relisting.
    if (err && !gone && !isWatchInactivityTimeout(err)) {
      const delay = this.restartDelayMs;
      this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
      this.opts.logger.warn('Watch failed, relisting after backoff', { resource: this.opts.resource, delayMs: delay, err });
      this.resourceVersion = '';
      this.restartAfter(delay);
      return;
    }
    this.restartDelayMs = 500;
    if (gone) this.resourceVersion = '';
    // A normal close (apiserver watch timeout) resumes from the last resourceVersion.
    this.restartAfter(0);
  }

  private restartAfter(delayMs: number): void {
    clearTimeout(this.restartTimer);
    const gen = ++this.generation; // invalidates the ended watch's callbacks
    this.restartTimer = setTimeout(() => {
      if (this.stopped || gen !== this.generation) return;
      const next = this.resourceVersion ? this.startWatch(gen) : this.relist();
      next.catch((e: unknown) => this.onWatchEnd(e ?? new Error('watch failed')));
    }, delayMs);
    this.restartTimer.unref();
  }

  private scheduleRelist(): void {
    const every = this.opts.relistIntervalMs ?? 0;
    if (every <= 0 || this.stopped) return;
    clearTimeout(this.relistTimer);
    this.relistTimer = setTimeout(() => {
      if (this.stopped) return;
      this.relist()
        .catch((e: unknown) => this.onWatchEnd(e ?? new Error('relist failed')))
        .finally(() => this.scheduleRelist());
    }, every);
    this.relistTimer.unref();
  }
}

/** client-node 2.x's Watch aborts an idle watch with a DOMException named TimeoutError. */
export function isWatchInactivityTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError';
}
