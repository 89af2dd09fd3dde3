// KubePort over @kubernetes/client-node 2.x: the only module that knows the generated API's call
// shapes. Errors are normalised to KubeError; AlreadyExists on create becomes {created:false}.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  EventsV1Api,
  HttpMethod,
  KubeConfig,
  RequestContext,
  type Cluster,
  NetworkingV1Api,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type V1ConfigMap,
  type V1EndpointSlice,
  type V1Lease,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { AgentOptions } from 'node:https';
import { Agent as UndiciAgent, fetch, type Dispatcher } from 'undici';
import { GROUP, PLURAL, VERSION, type UCloudJob, type UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import { POD_GROUP_GROUP, POD_GROUP_PLURAL, POD_GROUP_VERSION, type PodGroup } from '../api/scheduling/pod-group.js';
import { KUEUE_GROUP, KUEUE_VERSION, RESOURCE_FLAVOR_PLURAL, WORKLOAD_PLURAL, type ResourceFlavor, type Workload } from '../api/kueue/workload.js';
import { KubeError, isAlreadyExists, isNotFound, toKubeError } from './errors.js';
import { withRequestCounting } from './request-metrics.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { CreateResult, KubeEvent, KubePort, ListPage, Listed, NamespacedApi, UCloudJobApi } from './kube-port.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

async function wrap<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw toKubeError(e);
  }
}

async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw toKubeError(e);
  }
}

async function createOrExisting<T>(create: () => Promise<T>, get: () => Promise<T | undefined>): Promise<CreateResult<T>> {
  try {
    return { created: true, object: await create() };
  } catch (e) {
    if (!isAlreadyExists(e)) throw toKubeError(e);
    const existing = await get();
    if (existing === undefined) throw toKubeError(e); // deleted in between: let the caller retry
    return { created: false, object: existing };
  }
}

async function deleteIgnoringMissing(p: () => Promise<unknown>): Promise<void> {
  try {
    await p();
  } catch (e) {
    if (!isNotFound(e)) throw toKubeError(e);
  }
}

interface TypedCalls<T> {
  read(name: string, namespace: string): Promise<T>;
  list(
    namespace: string,
    labelSelector: string | undefined,
    page: ListPage,
  ): Promise<{ items: T[]; metadata?: { resourceVersion?: string; _continue?: string } }>;
  create(namespace: string, body: T): Promise<T>;
  replace(name: string, namespace: string, body: T): Promise<T>;
  del(name: string, namespace: string, body: object, gracePeriodSeconds?: number): Promise<unknown>;
}

/** One page of a list, as the apiserver sent it. */
type PlainList = <T>(path: string, labelSelector: string | undefined, page: ListPage) => Promise<Listed<T>>;

/**
 * Lists as plain JSON, the form watch events arrive in, for the informers (and every other list of
 * a kind they cache). client-node's typed lists deserialise each item into model classes (Dates,
 * nested instances, `_from`) that the informers then trim away: at 10,000 jobs that was 1.4 s of the
 * restart's CPU plus most of its 4.2 s of garbage collection, on a 20 s start (docs/performance.md).
 * The body is asked for uncompressed: the apiserver's gzip of a restart's ~200 MB of lists costs
 * its CPU and ours (zlib was another 0.9 s here), and the operator reaches the apiserver over the
 * cluster network, where bandwidth is not what a list waits for.
 */
function plainLister(kc: KubeConfig): PlainList {
  return async <T>(path: string, labelSelector: string | undefined, page: ListPage): Promise<Listed<T>> => {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new KubeError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    const url = new URL(server.replace(/\/$/, '') + path);
    if (labelSelector) url.searchParams.set('labelSelector', labelSelector);
    if (page.limit) url.searchParams.set('limit', String(page.limit));
    if (page.continue) url.searchParams.set('continue', page.continue);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    let text: string;
    let status: number;
    try {
      const res = await fetch(url, {
        headers: { ...ctx.getHeaders(), accept: 'application/json', 'accept-encoding': 'identity' },
        dispatcher: ctx.getDispatcher() as Dispatcher | undefined,
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      throw toKubeError(e);
    }
    if (status !== 200) throw toKubeError({ code: status, body: text });
    const body = JSON.parse(text) as { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '', continue: body.metadata?.continue || undefined };
  };
}

/** `plain`: the kind's collection path in a namespace; its lists then go through plainLister. */
interface PlainListing {
  list: PlainList;
  path: (namespace: string) => string;
}
function namespaced<T>(calls: TypedCalls<T>): NamespacedApi<T>;
function namespaced<T>(calls: Omit<TypedCalls<T>, 'list'>, plain: PlainListing): NamespacedApi<T>;
function namespaced<T>(calls: Omit<TypedCalls<T>, 'list'> & Partial<Pick<TypedCalls<T>, 'list'>>, plain?: PlainListing): NamespacedApi<T> {
  return {
    get: (namespace, name) => getOrUndefined(calls.read(name, namespace)),
    list: async (namespace, labelSelector, page = {}) => {
      if (plain) return plain.list<T>(plain.path(namespace), labelSelector, page);
      // The overloads give every kind without a plain listing its typed list.
      const res = await wrap(calls.list!(namespace, labelSelector, page));
      return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '', continue: res.metadata?._continue || undefined };
    },
    create: (namespace, obj) =>
      createOrExisting(
        () => calls.create(namespace, obj),
        () => getOrUndefined(calls.read((obj as { metadata?: { name?: string } }).metadata?.name ?? '', namespace)),
      ),
    replace: (namespace, name, obj) => wrap(calls.replace(name, namespace, obj)),
    delete: (namespace, name, opts) =>
      deleteIgnoringMissing(() =>
        calls.del(
          name,
          namespace,
          opts?.uid ? { preconditions: { uid: opts.uid }, propagationPolicy: 'Background' } : { propagationPolicy: 'Background' },
          opts?.gracePeriodSeconds,
        ),
      ),
  };
}

/**
 * client-node 2.0 sends requests with undici's fetch and builds a new undici Agent (connection pool)
 * for every request (KubeConfig.applySecurityAuthentication → createDispatcher), so every API call
 * would pay a TCP connect and a TLS handshake with the client certificate, on both ends. This view
 * of `kc` answers createDispatcher with one keep-alive Agent per distinct set of TLS options (server,
 * CA, client cert and key: a rotated certificate gets a new pool), at most `maxConnections`
 * connections, further requests queued by undici. Headers (bearer tokens) are still applied per
 * request by client-node. Watches keep client-node's own per-watch dispatcher (informer.ts), so a
 * long watch never holds a pooled connection. Measured in bench/ (docs/performance.md, ADR 0010).
 */
type DispatcherFactory = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

export function withKeepAlive(kc: KubeConfig, maxConnections = 32): KubeConfig {
  const pools = new Map<string, Dispatcher>();
  const view = Object.create(kc) as KubeConfig;
  // createDispatcher is private in client-node's typings (the version is pinned exactly, and
  // test/unit/k8s/keep-alive.test.ts fails if calls stop sharing connections).
  const own = kc as unknown as { createDispatcher: DispatcherFactory };
  if (typeof own.createDispatcher !== 'function') throw new Error('client-node no longer has KubeConfig.createDispatcher: revisit withKeepAlive');
  (view as unknown as { createDispatcher: DispatcherFactory }).createDispatcher = (cluster, agentOptions) => {
    const opts = kc.createDispatcherOptions(cluster, agentOptions);
    // A proxy or a plain-HTTP cluster: client-node's own dispatcher (rare; not worth a pool).
    if (opts.type !== 'agent') return own.createDispatcher.call(kc, cluster, agentOptions);
    const c = opts.connect as Record<string, unknown>;
    const key = [cluster?.server, c.ca, c.cert, c.key, c.pfx, c.passphrase, c.rejectUnauthorized, c.servername].map((v) => String(v ?? '')).join('\u0000');
    let pool = pools.get(key);
    if (!pool) {
      if (pools.size >= 8) {
        for (const old of pools.values()) void old.close();
        pools.clear();
      }
      pool = new UndiciAgent({ connect: opts.connect, connections: maxConnections });
      pools.set(key, pool);
    }
    return pool;
  };
  return view;
}

export function createClientNodePort(
  kubeConfig: KubeConfig,
  fieldManager = 'ucloud-operator',
  opts: { metrics?: OperatorMetrics; maxConnections?: number } = {},
): KubePort {
  // Counting wraps the pooled dispatcher (outside withKeepAlive), so counted calls still share connections.
  const metrics = opts.metrics;
  const pooled = withKeepAlive(kubeConfig, opts.maxConnections);
  const kc = metrics ? withRequestCounting(pooled, (labels) => metrics.restClientRequests.inc(labels)) : pooled;
  const core = kc.makeApiClient(CoreV1Api);
  const listPlain = plainLister(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const net = kc.makeApiClient(NetworkingV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const coord = kc.makeApiClient(CoordinationV1Api);
  const events = kc.makeApiClient(EventsV1Api);
  const crd = { group: GROUP, version: VERSION, plural: PLURAL };

  /** PUT of a custom object, or of its status subresource (409 when its resourceVersion is stale). */
  const replaceCustom = <T extends { metadata: { namespace?: string; name: string } }>(res: typeof crd, obj: T, subresource?: 'status') => {
    const req = { ...res, namespace: obj.metadata.namespace!, name: obj.metadata.name, body: obj, fieldManager };
    return wrap((subresource ? custom.replaceNamespacedCustomObjectStatus(req) : custom.replaceNamespacedCustomObject(req)) as Promise<T>);
  };
  const ucloudJobs: UCloudJobApi = {
    get: (namespace, name) => getOrUndefined(custom.getNamespacedCustomObject({ ...crd, namespace, name }) as Promise<UCloudJob>),
    list: async (namespace, page = {}) => {
      return listPlain<unknown>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`, page.labelSelector, page);
    },
    create: (job) =>
      createOrExisting(
        () =>
          custom.createNamespacedCustomObject({
            ...crd,
            namespace: job.metadata.namespace!,
            body: job,
            fieldManager,
          }) as Promise<UCloudJob>,
        () => ucloudJobs.get(job.metadata.namespace!, job.metadata.name),
      ),
    replace: (job) => replaceCustom(crd, job),
    replaceStatus: (job) => replaceCustom(crd, job, 'status'),
    mergePatchStatus: (namespace, name, status: Partial<UCloudJobStatus>) =>
      wrap(custom.patchNamespacedCustomObjectStatus({ ...crd, namespace, name, body: { status }, fieldManager }, mergePatch) as Promise<UCloudJob>),
    jsonPatchStatus: (namespace, name, ops) =>
      wrap(custom.patchNamespacedCustomObjectStatus({ ...crd, namespace, name, body: ops, fieldManager }, jsonPatch) as Promise<UCloudJob>),
    mergePatchMetadata: (namespace, name, metadata) =>
      wrap(custom.patchNamespacedCustomObject({ ...crd, namespace, name, body: { metadata }, fieldManager }, mergePatch) as Promise<UCloudJob>),
    delete: (namespace, name) => deleteIgnoringMissing(() => custom.deleteNamespacedCustomObject({ ...crd, namespace, name })),
  };

  const pods = namespaced<V1Pod>(
    {
      read: (name, namespace) => core.readNamespacedPod({ name, namespace }),
      create: (namespace, body) => core.createNamespacedPod({ namespace, body, fieldManager }),
      replace: (name, namespace, body) => core.replaceNamespacedPod({ name, namespace, body, fieldManager }),
      del: (name, namespace, body, gracePeriodSeconds) => core.deleteNamespacedPod({ name, namespace, body, gracePeriodSeconds }),
    },
    { list: listPlain, path: (ns) => `/api/v1/namespaces/${ns}/pods` },
  );
  const configMaps = namespaced<V1ConfigMap>(
    {
      read: (name, namespace) => core.readNamespacedConfigMap({ name, namespace }),
      create: (namespace, body) => core.createNamespacedConfigMap({ namespace, body, fieldManager }),
      replace: (name, namespace, body) => core.replaceNamespacedConfigMap({ name, namespace, body, fieldManager }),
      del: (name, namespace, body) => core.deleteNamespacedConfigMap({ name, namespace, body }),
    },
    { list: listPlain, path: (ns) => `/api/v1/namespaces/${ns}/configmaps` },
  );
  const services = namespaced<V1Service>(
    {
      read: (name, namespace) => core.readNamespacedService({ name, namespace }),
      create: (namespace, body) => core.createNamespacedService({ namespace, body, fieldManager }),
      replace: (name, namespace, body) => core.replaceNamespacedService({ name, namespace, body, fieldManager }),
      del: (name, namespace, body) => core.deleteNamespacedService({ name, namespace, body }),
    },
    { list: listPlain, path: (ns) => `/api/v1/namespaces/${ns}/services` },
  );
  const networkPolicies = namespaced<V1NetworkPolicy>(
    {
      read: (name, namespace) => net.readNamespacedNetworkPolicy({ name, namespace }),
      create: (namespace, body) => net.createNamespacedNetworkPolicy({ namespace, body, fieldManager }),
      replace: (name, namespace, body) => net.replaceNamespacedNetworkPolicy({ name, namespace, body, fieldManager }),
      del: (name, namespace, body) => net.deleteNamespacedNetworkPolicy({ name, namespace, body }),
    },
    { list: listPlain, path: (ns) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies` },
  );
  const endpointSlices = namespaced<V1EndpointSlice>({
    read: (name, namespace) => discovery.readNamespacedEndpointSlice({ name, namespace }),
    list: (namespace, labelSelector, page) => discovery.listNamespacedEndpointSlice({ namespace, labelSelector, limit: page.limit, _continue: page.continue }),
    create: (namespace, body) => discovery.createNamespacedEndpointSlice({ namespace, body, fieldManager }),
    replace: (name, namespace, body) => discovery.replaceNamespacedEndpointSlice({ name, namespace, body, fieldManager }),
    del: (name, namespace, body) => discovery.deleteNamespacedEndpointSlice({ name, namespace, body }),
  });
  const leases = namespaced<V1Lease>({
    read: (name, namespace) => coord.readNamespacedLease({ name, namespace }),
    list: (namespace, labelSelector, page) => coord.listNamespacedLease({ namespace, labelSelector, limit: page.limit, _continue: page.continue }),
    create: (namespace, body) => coord.createNamespacedLease({ namespace, body, fieldManager }),
    replace: (name, namespace, body) => coord.replaceNamespacedLease({ name, namespace, body, fieldManager }),
    del: (name, namespace, body) => coord.deleteNamespacedLease({ name, namespace, body }),
  });

  // No client-node model for v1alpha2 PodGroups or Kueue's Workloads: plain JSON through the
  // custom-objects API, which also keeps fields a typed model would drop on the way out.
  const customNamespaced = <T>(res: { group: string; version: string; plural: string }) =>
    namespaced<T>({
      read: (name, namespace) => custom.getNamespacedCustomObject({ ...res, namespace, name }) as Promise<T>,
      list: async (namespace, labelSelector, page) => {
        const out = (await custom.listNamespacedCustomObject({ ...res, namespace, labelSelector, limit: page.limit, _continue: page.continue })) as {
          items: T[];
          metadata?: { resourceVersion?: string; continue?: string };
        };
        return { items: out.items, metadata: { resourceVersion: out.metadata?.resourceVersion, _continue: out.metadata?.continue } };
      },
      create: (namespace, body) => custom.createNamespacedCustomObject({ ...res, namespace, body, fieldManager }) as Promise<T>,
      replace: (name, namespace, body) => custom.replaceNamespacedCustomObject({ ...res, namespace, name, body, fieldManager }) as Promise<T>,
      del: (name, namespace, body) => custom.deleteNamespacedCustomObject({ ...res, namespace, name, body }),
    });
  const podGroups = customNamespaced<PodGroup>({ group: POD_GROUP_GROUP, version: POD_GROUP_VERSION, plural: POD_GROUP_PLURAL });
  const wl = { group: KUEUE_GROUP, version: KUEUE_VERSION, plural: WORKLOAD_PLURAL };
  const workloads = customNamespaced<Workload>(wl);

  const reportingInstance = process.env.POD_NAME ?? 'ucloud-operator';
  return {
    ucloudJobs,
    pods,
    configMaps,
    services,
    networkPolicies,
    endpointSlices,
    leases,
    podGroups,
    workloads,
    replaceWorkloadStatus: (w) => replaceCustom(wl, w, 'status'),
    getResourceFlavor: (name) =>
      getOrUndefined(
        custom.getClusterCustomObject({ group: KUEUE_GROUP, version: KUEUE_VERSION, plural: RESOURCE_FLAVOR_PLURAL, name }) as Promise<ResourceFlavor>,
      ),
    servesResource: async (group, version, resource) => {
      try {
        const list = await custom.getAPIResources({ group, version });
        return list.resources.some((r) => r.name === resource);
      } catch (e) {
        if (isNotFound(e)) return false;
        throw toKubeError(e);
      }
    },
    listNodes: async (labelSelector) => (await wrap(core.listNode({ labelSelector }))).items,
    recordEvent: async (ev: KubeEvent) => {
      const now = ev.at ? new V1MicroTime(ev.at.getTime()) : new V1MicroTime();
      await wrap(
        events.createNamespacedEvent({
          namespace: ev.namespace,
          body: {
            // Named as client-go's recorder names events (`<object>.<hex time>`): a generateName
            // ending in '.' is not a valid prefix for the apiserver.
            metadata: { name: `${ev.regarding.name}.${process.hrtime.bigint().toString(16)}`, namespace: ev.namespace },
            eventTime: now,
            regarding: ev.regarding,
            type: ev.type,
            reason: ev.reason,
            action: ev.action,
            note: ev.note.slice(0, 1024),
            reportingController: 'ucloud.dk/ucloud-operator',
            reportingInstance,
          },
        }),
      );
    },
  };
}
