// An in-memory apiserver behind KubePort, for unit tests of the adapter and the reconciler. It
// keeps the semantics those components rely on for correctness, so a test that passes here does
// not pass only because the fake is lenient:
//   - every write bumps one global resourceVersion (a string); a no-op replace does not;
//   - uid, creationTimestamp and generation (1, +1 when anything but metadata/status changes);
//   - create of an existing name answers {created:false, object: existing} (409 AlreadyExists);
//   - replace/replaceStatus with a stale resourceVersion throw KubeError 409 Conflict; without
//     one they are unconditional (as the apiserver allows for these kinds);
//   - UCloudJob has a status subresource: create and replace ignore status, replaceStatus
//     ignores everything but status, mergePatchStatus is an RFC 7386 merge (null deletes);
//   - delete of a missing object is fine; a uid precondition that does not match is 409;
//     an object with finalizers only gets deletionTimestamp and goes when the last one is removed;
//   - list filters by label selector (`a=b`, `a==b`, `a!=b`, `key`, `!key`; set-based selectors
//     throw rather than silently matching everything).
// Not simulated: ownerReference garbage collection (deleting a UCloudJob leaves its pods; tests
// that need GC delete children themselves), graceful pod termination (pods without finalizers
// vanish at once), watches, field managers, admission and CRD schema validation.
// Every object is deep-copied in and out: a test can never mutate the store by accident, and
// the code under test cannot depend on getting back the very object it wrote.
import { randomUUID } from 'node:crypto';
import type { V1ConfigMap, V1EndpointSlice, V1Lease, V1NetworkPolicy, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { UCloudJob, UCloudJobStatus } from '../../src/api/v1alpha1/ucloudjob.js';
import type { PodGroup } from '../../src/api/scheduling/pod-group.js';
import type { ResourceFlavor, Workload } from '../../src/api/kueue/workload.js';
import { KubeError } from '../../src/k8s/errors.js';
import type { CreateResult, KubeEvent, KubePort, ListPage, Listed, NamespacedApi, UCloudJobApi } from '../../src/k8s/kube-port.js';

export type FakeKind =
  'UCloudJob' | 'PodGroup' | 'Workload' | 'ResourceFlavor' | 'Pod' | 'ConfigMap' | 'Service' | 'NetworkPolicy' | 'EndpointSlice' | 'Lease' | 'Node' | 'Event';

export interface FakeCall {
  op: string;
  kind: FakeKind;
  name: string;
  namespace?: string;
}

export const WRITE_OPS: ReadonlySet<string> = new Set([
  'create',
  'replace',
  'replaceStatus',
  'mergePatchStatus',
  'mergePatchMetadata',
  'delete',
  'recordEvent',
]);

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  finalizers?: string[];
  [k: string]: unknown;
}
interface Obj {
  metadata?: Meta;
  status?: unknown;
  [k: string]: unknown;
}

// Not structuredClone: under Jest's VM it returns Dates of the outer realm, and code under test
// that checks `instanceof Date` would then see something the real port never returns.
function clone<T>(v: T): T {
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = clone(x);
    return out as T;
  }
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    // undefined-valued keys are absent on the wire
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** What generation counts: everything but metadata and status. */
function body(o: Obj): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

type Requirement = (labels: Record<string, string>) => boolean;

/** Parses the equality-based label selector subset; anything else is a 400, as a typo would be. */
export function parseLabelSelector(selector: string | undefined): Requirement {
  if (!selector || !selector.trim()) return () => true;
  const reqs: Requirement[] = selector.split(',').map((raw) => {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(term))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    if ((m = /^!([^=!\s]+)$/.exec(term))) {
      const key = m[1]!;
      return (l) => !(key in l);
    }
    if (/^[^=!\s()]+$/.test(term)) return (l) => term in l;
    throw new KubeError(400, 'BadRequest', `FakeKube: unsupported label selector term "${term}"`);
  });
  return (labels) => reqs.every((r) => r(labels));
}

const notFound = (kind: string, name: string) => new KubeError(404, 'NotFound', `${kind} "${name}" not found`);

export class FakeKube implements KubePort {
  /** Every call in order, failed ones included: `{op, kind, name, namespace}`. */
  readonly calls: FakeCall[] = [];
  /** Events recorded through recordEvent, in order. */
  readonly events: KubeEvent[] = [];

  private readonly store = new Map<string, Obj>();
  private resourceVersion = 0;
  private readonly failures: Array<{ op: string; err: KubeError }> = [];

  readonly ucloudJobs: UCloudJobApi;
  readonly pods: NamespacedApi<V1Pod>;
  readonly configMaps: NamespacedApi<V1ConfigMap>;
  readonly services: NamespacedApi<V1Service>;
  readonly networkPolicies: NamespacedApi<V1NetworkPolicy>;
  readonly endpointSlices: NamespacedApi<V1EndpointSlice>;
  readonly leases: NamespacedApi<V1Lease>;
  readonly podGroups: NamespacedApi<PodGroup>;
  readonly workloads: NamespacedApi<Workload>;
  /** `group/version/resource` keys discovery answers as served (servesResource); tests add to it. */
  readonly served = new Set<string>();

  /** @param now clock for creationTimestamp and deletionTimestamp */
  constructor(private readonly now: () => Date = () => new Date()) {
    this.pods = this.namespaced<V1Pod>('Pod');
    this.configMaps = this.namespaced<V1ConfigMap>('ConfigMap');
    this.services = this.namespaced<V1Service>('Service');
    this.networkPolicies = this.namespaced<V1NetworkPolicy>('NetworkPolicy');
    this.endpointSlices = this.namespaced<V1EndpointSlice>('EndpointSlice');
    this.leases = this.namespaced<V1Lease>('Lease');
    this.podGroups = this.namespaced<PodGroup>('PodGroup');
    this.workloads = this.namespaced<Workload>('Workload');
    this.ucloudJobs = this.ucloudJobApi();
  }

  // --- Test controls ---------------------------------------------------------------------------

  /**
   * The next call matching `op` throws `err` instead of running (`times` calls in a row). `op` is
   * an operation name (`create`, `get`, `replace`, ...) matching any kind, or `Kind.op`
   * (`UCloudJob.create`, `Pod.delete`, `Node.list`, `Event.recordEvent`) for one kind.
   */
  failNext(op: string, err: KubeError, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ op, err });
  }

  /** Calls that would have changed the cluster (including ones that failed). */
  writes(): FakeCall[] {
    return this.calls.filter((c) => WRITE_OPS.has(c.op));
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Puts an object straight into the store (no call logged, no failure injection). */
  seed<T>(kind: FakeKind, obj: T): T {
    const o = clone(obj) as Obj;
    const meta = o.metadata ?? {};
    if (!meta.name) throw new Error('FakeKube.seed: metadata.name is required');
    const stored = this.stamp(kind, o, meta.namespace);
    this.store.set(this.key(kind, meta.namespace, meta.name), stored);
    return clone(stored) as T;
  }

  /** Changes a stored object as another actor would (kubelet, a user): bumps resourceVersion. */
  mutate<T>(kind: FakeKind, namespace: string | undefined, name: string, change: (obj: T) => void): T {
    const key = this.key(kind, namespace, name);
    const current = this.store.get(key);
    if (!current) throw notFound(kind, name);
    const next = clone(current);
    change(next as T);
    next.metadata = { ...next.metadata, resourceVersion: this.nextVersion() };
    this.store.set(key, next);
    return clone(next) as T;
  }

  /** A stored object, deep-copied, without logging a call. */
  peek<T>(kind: FakeKind, namespace: string | undefined, name: string): T | undefined {
    const o = this.store.get(this.key(kind, namespace, name));
    return o ? (clone(o) as T) : undefined;
  }

  /** All stored objects of a kind (optionally in one namespace), without logging a call. */
  all<T>(kind: FakeKind, namespace?: string): T[] {
    return [...this.store.entries()]
      .filter(([k]) => k.startsWith(`${kind}/${namespace === undefined ? '' : `${namespace}/`}`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o) as T);
  }

  // --- KubePort ---------------------------------------------------------------------------------

  async listNodes(labelSelector?: string): Promise<V1Node[]> {
    this.enter('list', 'Node', '');
    const match = parseLabelSelector(labelSelector);
    return this.all<V1Node>('Node').filter((n) => match(n.metadata?.labels ?? {}));
  }

  async replaceWorkloadStatus(w: Workload): Promise<Workload> {
    const { namespace, name } = w.metadata;
    this.enter('replaceStatus', 'Workload', name, namespace);
    const prev = this.current('Workload', namespace, name, w.metadata.resourceVersion);
    return this.commit('Workload', prev, { ...clone(prev), status: clone(w.status) }) as unknown as Workload;
  }

  async getResourceFlavor(name: string): Promise<ResourceFlavor | undefined> {
    return this.getObj('ResourceFlavor', '', name) as ResourceFlavor | undefined;
  }

  async servesResource(group: string, version: string, resource: string): Promise<boolean> {
    this.enter('discover', 'PodGroup', `${group}/${version}/${resource}`);
    return this.served.has(`${group}/${version}/${resource}`);
  }

  async recordEvent(event: KubeEvent): Promise<void> {
    this.enter('recordEvent', 'Event', event.regarding.name, event.namespace);
    this.events.push(clone(event));
  }

  // --- Internals --------------------------------------------------------------------------------

  private key(kind: FakeKind, namespace: string | undefined, name: string): string {
    return kind === 'Node' ? `${kind}/${name}` : `${kind}/${namespace ?? ''}/${name}`;
  }

  private nextVersion(): string {
    return String(++this.resourceVersion);
  }

  /** Logs the call, then throws an injected failure if one matches. */
  private enter(op: string, kind: FakeKind, name: string, namespace?: string): void {
    this.calls.push({ op, kind, name, ...(namespace !== undefined ? { namespace } : {}) });
    const i = this.failures.findIndex((f) => f.op === op || f.op === `${kind}.${op}`);
    if (i >= 0) {
      const [{ err }] = this.failures.splice(i, 1) as [{ op: string; err: KubeError }];
      throw err;
    }
  }

  /** Server-set metadata of a new object. Custom objects come back as JSON (string timestamps),
   *  client-node's typed built-ins as Date: the fake answers as the real port would. */
  private stamp(kind: FakeKind, o: Obj, namespace: string | undefined): Obj {
    const now = this.now();
    o.metadata = {
      ...o.metadata,
      ...(kind === 'Node' ? {} : { namespace }),
      uid: randomUUID(),
      resourceVersion: this.nextVersion(),
      generation: 1,
      creationTimestamp: kind === 'UCloudJob' ? now.toISOString() : now,
    };
    delete o.metadata.deletionTimestamp;
    return o;
  }

  private getObj(kind: FakeKind, namespace: string, name: string): Obj | undefined {
    this.enter('get', kind, name, namespace);
    const o = this.store.get(this.key(kind, namespace, name));
    return o ? clone(o) : undefined;
  }

  /** Pages like the apiserver: `continue` is the offset here (opaque to callers). */
  private listObjs(kind: FakeKind, namespace: string, labelSelector?: string, page: ListPage = {}): Listed<Obj> {
    this.enter('list', kind, '', namespace);
    const match = parseLabelSelector(labelSelector);
    const all = this.all<Obj>(kind, namespace || undefined).filter((o) => match(o.metadata?.labels ?? {}));
    const from = Number(page.continue ?? 0);
    const to = page.limit ? from + page.limit : all.length;
    return { items: all.slice(from, to), resourceVersion: String(this.resourceVersion), continue: to < all.length ? String(to) : undefined };
  }

  private createObj(kind: FakeKind, namespace: string | undefined, obj: Obj, dropStatus: boolean): CreateResult<Obj> {
    const o = clone(obj);
    const name = o.metadata?.name ?? '';
    this.enter('create', kind, name, namespace);
    if (!namespace) throw new KubeError(400, 'BadRequest', `${kind}: namespace is required`);
    if (!name) throw new KubeError(422, 'Invalid', `${kind}: metadata.name is required`);
    if (o.metadata?.namespace && o.metadata.namespace !== namespace) {
      throw new KubeError(
        400,
        'BadRequest',
        `the namespace of the object (${o.metadata.namespace}) does not match the namespace on the request (${namespace})`,
      );
    }
    const key = this.key(kind, namespace, name);
    const existing = this.store.get(key);
    if (existing) return { created: false, object: clone(existing) };
    if (dropStatus) delete o.status;
    const stored = this.stamp(kind, o, namespace);
    this.store.set(key, stored);
    return { created: true, object: clone(stored) };
  }

  private current(kind: FakeKind, namespace: string | undefined, name: string, rv: string | undefined): Obj {
    const existing = this.store.get(this.key(kind, namespace, name));
    if (!existing) throw notFound(kind, name);
    if (rv !== undefined && rv !== '' && rv !== existing.metadata?.resourceVersion) {
      throw new KubeError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return existing;
  }

  /** Stores `next` in place of `prev` unless nothing changed; removes it when a pending
   *  deletion has lost its last finalizer. */
  private commit(kind: FakeKind, prev: Obj, next: Obj): Obj {
    const meta = next.metadata!;
    const key = this.key(kind, meta.namespace, meta.name!);
    if (deepEqual(prev, next)) return clone(prev);
    if (!deepEqual(body(prev), body(next))) meta.generation = (prev.metadata?.generation ?? 1) + 1;
    meta.resourceVersion = this.nextVersion();
    if (meta.deletionTimestamp && !meta.finalizers?.length) this.store.delete(key);
    else this.store.set(key, next);
    return clone(next);
  }

  /** Metadata a client may change; the rest is the server's. */
  private mergeMeta(prev: Meta, incoming: Meta | undefined): Meta {
    const { name, namespace, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp } = prev;
    const fixed = { name, namespace, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp };
    const out: Meta = { ...(incoming ?? {}), ...fixed };
    for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
    return out;
  }

  private replaceObj(kind: FakeKind, namespace: string | undefined, name: string, obj: Obj, keepStatus: boolean): Obj {
    this.enter('replace', kind, name, namespace);
    if (obj.metadata?.name && obj.metadata.name !== name) throw new KubeError(400, 'BadRequest', `${kind}: name in body does not match URL`);
    const prev = this.current(kind, namespace, name, obj.metadata?.resourceVersion);
    const next = clone(obj);
    next.metadata = this.mergeMeta(prev.metadata!, next.metadata);
    if (keepStatus) {
      if (prev.status === undefined) delete next.status;
      else next.status = clone(prev.status);
    }
    return this.commit(kind, prev, next);
  }

  private deleteObj(kind: FakeKind, namespace: string, name: string, uid?: string): void {
    this.enter('delete', kind, name, namespace);
    const key = this.key(kind, namespace, name);
    const existing = this.store.get(key);
    if (!existing) return;
    if (uid && existing.metadata?.uid !== uid) {
      throw new KubeError(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${existing.metadata?.uid}`);
    }
    if (existing.metadata?.finalizers?.length) {
      if (existing.metadata.deletionTimestamp) return;
      const next = clone(existing);
      next.metadata!.deletionTimestamp = kind === 'UCloudJob' ? this.now().toISOString() : this.now();
      next.metadata!.resourceVersion = this.nextVersion();
      this.store.set(key, next);
      return;
    }
    this.store.delete(key);
  }

  private patchMeta(kind: FakeKind, namespace: string, name: string, patch: Record<string, unknown>): Obj {
    this.enter('mergePatchMetadata', kind, name, namespace);
    const prev = this.current(kind, namespace, name, undefined);
    const next = clone(prev);
    next.metadata = this.mergeMeta(prev.metadata!, mergePatch(prev.metadata, patch) as Meta);
    return this.commit(kind, prev, next);
  }

  private namespaced<T>(kind: FakeKind): NamespacedApi<T> {
    return {
      get: async (namespace, name) => this.getObj(kind, namespace, name) as T | undefined,
      list: async (namespace, labelSelector, page) => this.listObjs(kind, namespace, labelSelector, page) as Listed<T>,
      create: async (namespace, obj) => this.createObj(kind, namespace, obj as Obj, false) as CreateResult<T>,
      replace: async (namespace, name, obj) => this.replaceObj(kind, namespace, name, obj as Obj, false) as T,
      delete: async (namespace, name, opts) => this.deleteObj(kind, namespace, name, opts?.uid),
    };
  }

  private ucloudJobApi(): UCloudJobApi {
    const K: FakeKind = 'UCloudJob';
    return {
      get: async (namespace, name) => this.getObj(K, namespace, name) as UCloudJob | undefined,
      list: async (namespace, page) => this.listObjs(K, namespace, page?.labelSelector, page),
      create: async (job) => this.createObj(K, job.metadata.namespace, job as unknown as Obj, true) as unknown as CreateResult<UCloudJob>,
      replace: async (job) => this.replaceObj(K, job.metadata.namespace, job.metadata.name, job as unknown as Obj, true) as unknown as UCloudJob,
      replaceStatus: async (job) => {
        const { namespace, name } = job.metadata;
        this.enter('replaceStatus', K, name, namespace);
        const prev = this.current(K, namespace, name, job.metadata.resourceVersion);
        const next = clone(prev);
        if (job.status === undefined) delete next.status;
        else next.status = clone(job.status);
        return this.commit(K, prev, next) as unknown as UCloudJob;
      },
      mergePatchStatus: async (namespace, name, status: Partial<UCloudJobStatus>) => {
        this.enter('mergePatchStatus', K, name, namespace);
        const prev = this.current(K, namespace, name, undefined);
        const next = clone(prev);
        const merged = mergePatch(prev.status, status);
        if (merged === undefined) delete next.status;
        else next.status = merged;
        return this.commit(K, prev, next) as unknown as UCloudJob;
      },
      mergePatchMetadata: async (namespace, name, metadata) => this.patchMeta(K, namespace, name, metadata) as unknown as UCloudJob,
      delete: async (namespace, name) => this.deleteObj(K, namespace, name),
    };
  }
}
