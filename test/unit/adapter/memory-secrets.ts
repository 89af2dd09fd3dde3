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

  async delete(namespace: string, name: string, opts: { uid?: string } = {}): Promise<boolean> {
    const key = `${namespace}/${name}`;
    const s = this.objects.get(key);
    if (!s || (opts.uid && s.metadata?.uid !== opts.uid)) return false;
    return this.objects.delete(key);
  }
}
