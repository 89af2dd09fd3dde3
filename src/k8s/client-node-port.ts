// KubePort over @kubernetes/client-node 1.x: the only module that knows the generated API's call
// shapes. Errors are normalised to KubeError; AlreadyExists on create becomes {created:false}.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  EventsV1Api,
  KubeConfig,
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
import { Agent as HttpsAgent } from 'node:https';
import { GROUP, PLURAL, VERSION, type UCloudJob, type UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import { GatedAgent } from './gated-agent.js';
import { isAlreadyExists, isNotFound, toKubeError } from './errors.js';
import type { CreateResult, KubeEvent, KubePort, ListPage, NamespacedApi, UCloudJobApi } from './kube-port.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

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
  list(namespace: string, labelSelector: string | undefined, page: ListPage): Promise<{ items: T[]; metadata?: { resourceVersion?: string; _continue?: string } }>;
  create(namespace: string, body: T): Promise<T>;
  replace(name: string, namespace: string, body: T): Promise<T>;
  del(name: string, namespace: string, body: object, gracePeriodSeconds?: number): Promise<unknown>;
}

function namespaced<T>(calls: TypedCalls<T>): NamespacedApi<T> {
  return {
    get: (namespace, name) => getOrUndefined(calls.read(name, namespace)),
    list: async (namespace, labelSelector, page = {}) => {
      const res = await wrap(calls.list(namespace, labelSelector, page));
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
 * client-node 1.x builds a new https.Agent for every request (KubeConfig.applySecurityAuthentication),
 * so every API call pays a TCP connect and a TLS handshake with the client certificate, on both
 * ends. This view of `kc` swaps that agent for one keep-alive agent per distinct set of TLS options
 * (server, CA, client cert and key: a rotated certificate gets a new agent). Headers (bearer
 * tokens) are still applied per request by client-node. Measured in bench/ (docs/performance.md).
 */
export function withKeepAlive(kc: KubeConfig, maxInFlight = 32): KubeConfig {
  const agents = new Map<string, HttpsAgent>();
  const view = Object.create(kc) as KubeConfig;
  view.applySecurityAuthentication = async (context) => {
    await kc.applySecurityAuthentication(context);
    const agent = context.getAgent();
    if (!(agent instanceof HttpsAgent)) return;
    const o = agent.options;
    const key = [kc.getCurrentCluster()?.server, o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized].map((v) => String(v ?? '')).join('\u0000');
    let shared = agents.get(key);
    if (!shared) {
      if (agents.size >= 8) agents.clear();
      shared = new GatedAgent(o, maxInFlight);
      agents.set(key, shared);
    }
    agent.destroy();
    context.setAgent(shared);
  };
  return view;
}

export function createClientNodePort(kubeConfig: KubeConfig, fieldManager = 'ucloud-operator'): KubePort {
  const kc = withKeepAlive(kubeConfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const net = kc.makeApiClient(NetworkingV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const coord = kc.makeApiClient(CoordinationV1Api);
  const events = kc.makeApiClient(EventsV1Api);
  const crd = { group: GROUP, version: VERSION, plural: PLURAL };

  const ucloudJobs: UCloudJobApi = {
    get: (namespace, name) =>
      getOrUndefined(custom.getNamespacedCustomObject({ ...crd, namespace, name }) as Promise<UCloudJob>),
    list: async (namespace, page = {}) => {
      // A custom object list is plain JSON (no model class), so `continue` keeps its wire name.
      const res = (await wrap(custom.listNamespacedCustomObject({ ...crd, namespace, limit: page.limit, _continue: page.continue }))) as {
        items: unknown[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '', continue: res.metadata?.continue || undefined };
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
    replace: (job) =>
      wrap(
        custom.replaceNamespacedCustomObject({
          ...crd,
          namespace: job.metadata.namespace!,
          name: job.metadata.name,
          body: job,
          fieldManager,
        }) as Promise<UCloudJob>,
      ),
    replaceStatus: (job) =>
      wrap(
        custom.replaceNamespacedCustomObjectStatus({
          ...crd,
          namespace: job.metadata.namespace!,
          name: job.metadata.name,
          body: job,
          fieldManager,
        }) as Promise<UCloudJob>,
      ),
    mergePatchStatus: (namespace, name, status: Partial<UCloudJobStatus>) =>
      wrap(
        custom.patchNamespacedCustomObjectStatus(
          { ...crd, namespace, name, body: { status }, fieldManager },
          mergePatch,
        ) as Promise<UCloudJob>,
      ),
    mergePatchMetadata: (namespace, name, metadata) =>
      wrap(
        custom.patchNamespacedCustomObject(
          { ...crd, namespace, name, body: { metadata }, fieldManager },
          mergePatch,
        ) as Promise<UCloudJob>,
      ),
    delete: (namespace, name) =>
      deleteIgnoringMissing(() => custom.deleteNamespacedCustomObject({ ...crd, namespace, name })),
  };

  const pods = namespaced<V1Pod>({
    read: (name, namespace) => core.readNamespacedPod({ name, namespace }),
    list: (namespace, labelSelector, page) => core.listNamespacedPod({ namespace, labelSelector, limit: page.limit, _continue: page.continue }),
    create: (namespace, body) => core.createNamespacedPod({ namespace, body, fieldManager }),
    replace: (name, namespace, body) => core.replaceNamespacedPod({ name, namespace, body, fieldManager }),
    del: (name, namespace, body, gracePeriodSeconds) =>
      core.deleteNamespacedPod({ name, namespace, body, gracePeriodSeconds }),
  });
  const configMaps = namespaced<V1ConfigMap>({
    read: (name, namespace) => core.readNamespacedConfigMap({ name, namespace }),
    list: (namespace, labelSelector, page) => core.listNamespacedConfigMap({ namespace, labelSelector, limit: page.limit, _continue: page.continue }),
    create: (namespace, body) => core.createNamespacedConfigMap({ namespace, body, fieldManager }),
    replace: (name, namespace, body) => core.replaceNamespacedConfigMap({ name, namespace, body, fieldManager }),
    del: (name, namespace, body) => core.deleteNamespacedConfigMap({ name, namespace, body }),
  });
  const services = namespaced<V1Service>({
    read: (name, namespace) => core.readNamespacedService({ name, namespace }),
    list: (namespace, labelSelector, page) => core.listNamespacedService({ namespace, labelSelector, limit: page.limit, _continue: page.continue }),
    create: (namespace, body) => core.createNamespacedService({ namespace, body, fieldManager }),
    replace: (name, namespace, body) => core.replaceNamespacedService({ name, namespace, body, fieldManager }),
    del: (name, namespace, body) => core.deleteNamespacedService({ name, namespace, body }),
  });
  const networkPolicies = namespaced<V1NetworkPolicy>({
    read: (name, namespace) => net.readNamespacedNetworkPolicy({ name, namespace }),
    list: (namespace, labelSelector, page) => net.listNamespacedNetworkPolicy({ namespace, labelSelector, limit: page.limit, _continue: page.continue }),
    create: (namespace, body) => net.createNamespacedNetworkPolicy({ namespace, body, fieldManager }),
    replace: (name, namespace, body) => net.replaceNamespacedNetworkPolicy({ name, namespace, body, fieldManager }),
    del: (name, namespace, body) => net.deleteNamespacedNetworkPolicy({ name, namespace, body }),
  });
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

  const reportingInstance = process.env.POD_NAME ?? 'ucloud-operator';
  return {
    ucloudJobs,
    pods,
    configMaps,
    services,
    networkPolicies,
    endpointSlices,
    leases,
    listNodes: async (labelSelector) => (await wrap(core.listNode({ labelSelector }))).items,
    recordEvent: async (ev: KubeEvent) => {
      const now = new V1MicroTime();
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
