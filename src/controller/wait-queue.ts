// The queue in front of a full cluster (docs/adr/0025), per product category, first come first
// served. A job joins when it has to wait — the scheduler found no room for it (blocked), or an
// earlier job of its category is already waiting (held: its pods are not created) — and leaves
// once all its ranks are placed, it ends or it is deleted. While the queue of a category is not
// empty, later jobs of that category are held behind it, so whoever came first gets the next free
// room: kube-scheduler alone would not do this, since it orders its queue by priority and then by
// the time a pod was last put back in it (pkg/scheduler/backend/queue/scheduling_queue.go refreshes
// the timestamp on every failed attempt), which is close to round robin among waiting gangs.
// In memory only: after a restart the queue is rebuilt as jobs are reconciled (all are, at start).

export interface WaitEntry {
  key: string;
  category: string;
  /** The UCloudJob's creationTimestamp (ms): the order of the queue, the key breaking ties. */
  createdAt: number;
}

/** Whether `a` is served before `b`: earlier creation, then key. */
export const before = (a: Pick<WaitEntry, 'key' | 'createdAt'>, b: Pick<WaitEntry, 'key' | 'createdAt'>): boolean =>
  a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.key < b.key);

export class WaitQueue {
  private readonly byCategory = new Map<string, Map<string, WaitEntry>>();
  private readonly categoryOf = new Map<string, string>();

  has(key: string): boolean {
    return this.categoryOf.has(key);
  }

  add(entry: WaitEntry): void {
    const old = this.categoryOf.get(entry.key);
    if (old !== undefined && old !== entry.category) this.remove(entry.key);
    let entries = this.byCategory.get(entry.category);
    if (!entries) this.byCategory.set(entry.category, (entries = new Map()));
    entries.set(entry.key, entry);
    this.categoryOf.set(entry.key, entry.category);
  }

  /** Removes the job; returns its category if it was queued. */
  remove(key: string): string | undefined {
    const category = this.categoryOf.get(key);
    if (category === undefined) return undefined;
    this.categoryOf.delete(key);
    const entries = this.byCategory.get(category);
    entries?.delete(key);
    if (entries && !entries.size) this.byCategory.delete(category);
    return category;
  }

  /** How many queued jobs of the category came before this one. */
  ahead(job: Omit<WaitEntry, 'key'> & { key: string }): number {
    let n = 0;
    for (const e of this.byCategory.get(job.category)?.values() ?? []) if (e.key !== job.key && before(e, job)) n++;
    return n;
  }

  /** The earliest queued job of the category (the next to get room), if any. */
  first(category: string): string | undefined {
    let head: WaitEntry | undefined;
    for (const e of this.byCategory.get(category)?.values() ?? []) if (!head || before(e, head)) head = e;
    return head?.key;
  }

  size(category?: string): number {
    return category === undefined ? this.categoryOf.size : (this.byCategory.get(category)?.size ?? 0);
  }
}

/**
 * "10+" instead of 17: the text goes to UCloud/Core on every change, and a long queue would
 * otherwise send every waiting job an update each time any job ahead of it leaves. Exact up to
 * 10, then in tens up to 100, then in hundreds.
 */
export function aheadText(n: number): string {
  if (n <= 0) return 'no jobs ahead';
  if (n === 1) return '1 job ahead';
  if (n <= 10) return `${n} jobs ahead`;
  const step = n < 100 ? 10 : 100;
  return `${Math.floor(n / step) * step}+ jobs ahead`;
}

/**
 * The status text of a waiting job, as UCloud/Core shows it: "Waiting for 4 × u1-standard-8; 2 jobs
 * ahead", or with why no node can take it (a job that cannot fit is not in the queue, ahead of nobody).
 */
export function waitingText(replicas: number, productId: string, ahead: number | string): string {
  return `Waiting for ${replicas} × ${productId}; ${typeof ahead === 'string' ? ahead : aheadText(ahead)}`;
}
