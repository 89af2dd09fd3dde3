// An in-memory SecretApi for unit tests of the session store (create-if-absent, get, delete;
// objects deep-copied in and out, stringData turned into base64 data as the apiserver does).
import type { V1Secret } from '@kubernetes/client-node';
import type { SecretApi } from '../../../src/adapter/sessions/secret-api.js';

export class MemorySecrets implements SecretApi {
  readonly objects = new Map<string, V1Secret>();

  async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    const s = this.objects.get(`${namespace}/${name}`);
    return s ? structuredClone(s) : undefined;
  }

  async create(namespace: string, secret: V1Secret): Promise<boolean> {
    const key = `${namespace}/${secret.metadata!.name}`;
    if (this.objects.has(key)) return false;
    const stored = structuredClone(secret);
    stored.metadata = { ...stored.metadata, uid: `uid-${this.objects.size}-${Math.random().toString(36).slice(2)}` };
    stored.data = { ...(stored.data ?? {}) };
    for (const [k, v] of Object.entries(stored.stringData ?? {})) stored.data[k] = Buffer.from(v, 'utf8').toString('base64');
    delete stored.stringData;
    this.objects.set(key, stored);
    return true;
  }

  /** Label existence selectors only (`key`), in name order, paged by a name cursor. */
  async list(namespace: string, labelSelector: string, page: { limit: number; cont?: string }): Promise<{ items: V1Secret[]; cont?: string }> {
    const all = [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${namespace}/`))
      .map(([, s]) => s)
      .filter((s) => s.metadata?.labels?.[labelSelector] !== undefined)
      .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))
      .filter((s) => !page.cont || s.metadata!.name! > page.cont);
    const items = all.slice(0, page.limit).map((s) => structuredClone(s));
    return { items, ...(all.length > page.limit ? { cont: items.at(-1)!.metadata!.name! } : {}) };
  }

  async delete(namespace: string, name: string, opts: { uid?: string } = {}): Promise<boolean> {
    const key = `${namespace}/${name}`;
    const s = this.objects.get(key);
    if (!s || (opts.uid && s.metadata?.uid !== opts.uid)) return false;
    return this.objects.delete(key);
  }
}
