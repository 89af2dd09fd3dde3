// Which jobs name which as peers, both ways: peering is symmetric (a job that names another
// changes the other's NetworkPolicy, and must learn when the other ends), so a change to one job
// requeues the jobs on either side. An index, not a scan: with 10,000 jobs every pod event would
// otherwise walk every job.
import { objectKey, splitKey } from '../k8s/object-key.js';

export class PeerIndex {
  /** Job key → the UCloudJob names it names as peers (same namespace). */
  private readonly names = new Map<string, string[]>();
  /** Job key → keys of the jobs that name it. */
  private readonly namedBy = new Map<string, Set<string>>();

  /** Records that the job `key` names exactly `named` (UCloudJob names) now; [] forgets it. */
  set(key: string, named: readonly string[]): void {
    const ns = splitKey(key).namespace;
    for (const name of this.names.get(key) ?? []) {
      const k = objectKey(ns, name);
      const set = this.namedBy.get(k);
      set?.delete(key);
      if (set && !set.size) this.namedBy.delete(k);
    }
    if (!named.length) {
      this.names.delete(key);
      return;
    }
    this.names.set(key, [...named]);
    for (const name of named) {
      const k = objectKey(ns, name);
      const set = this.namedBy.get(k) ?? new Set<string>();
      set.add(key);
      this.namedBy.set(k, set);
    }
  }

  /** The UCloudJob names the job `key` names as peers. */
  namedByJob(key: string): readonly string[] {
    return this.names.get(key) ?? [];
  }

  /** Keys of the jobs that name `namespace/name` as a peer. */
  naming(namespace: string, name: string): string[] {
    return [...(this.namedBy.get(objectKey(namespace, name)) ?? [])];
  }
}
