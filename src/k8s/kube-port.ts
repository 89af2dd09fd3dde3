// The thin, typed port between the operator and Kubernetes. Everything above it (adapter,
// reconciler, accounting, reporting) is written against these interfaces, so unit tests can use
// the in-memory fake (test/support/fake-kube.ts) while integration tests use the real apiserver
// through client-node (client-node-port.ts).
import type { V1ConfigMap, V1EndpointSlice, V1NetworkPolicy, V1Node, V1Pod, V1Service, V1Lease } from '@kubernetes/client-node';
import type { UCloudJob, UCloudJobStatus } from '../api/v1alpha1/ucloudjob.js';
import type { PodGroup } from '../api/scheduling/pod-group.js';
import type { ResourceFlavor, Workload } from '../api/kueue/workload.js';

/** Creates return `created: false` with the existing object when it is already there (409 AlreadyExists). */
export interface CreateResult<T> {
  created: boolean;
  object: T;
}

/**
 * One page of a list (`limit` + `continue`, as the apiserver pages): caches of 10,000 jobs list in
 * pages so the raw JSON of every object never sits in memory at once.
 */
export interface ListPage {
  limit?: number;
  continue?: string;
}
export interface Listed<T> {
  items: T[];
  resourceVersion: string;
  /** Set when more pages follow (pass it back as `continue`). */
  continue?: string;
}

export interface UCloudJobApi {
  get(namespace: string, name: string): Promise<UCloudJob | undefined>;
  list(namespace: string, page?: ListPage & { labelSelector?: string }): Promise<Listed<unknown>>;
  create(job: UCloudJob): Promise<CreateResult<UCloudJob>>;
  /** Replaces metadata+spec; fails with 409 when metadata.resourceVersion is stale. */
  replace(job: UCloudJob): Promise<UCloudJob>;
  /** Replaces status through the status subresource; fails with 409 when resourceVersion is stale. */
  replaceStatus(job: UCloudJob): Promise<UCloudJob>;
  /** JSON merge patch of status (no precondition): only for fields with a single writer. */
  mergePatchStatus(namespace: string, name: string, status: Partial<UCloudJobStatus>): Promise<UCloudJob>;
  /** JSON merge patch of metadata (labels, annotations, finalizers). */
  mergePatchMetadata(namespace: string, name: string, metadata: Record<string, unknown>): Promise<UCloudJob>;
  /**
   * RFC 6902 JSON patch of status (paths start with /status): one element of a list (a condition)
   * without replacing the list other writers share; a failed `test` is a 422 and changes nothing.
   */
  jsonPatchStatus(namespace: string, name: string, ops: readonly JsonPatchOp[]): Promise<UCloudJob>;
  delete(namespace: string, name: string): Promise<void>;
}

export type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown };

export interface NamespacedApi<T> {
  get(namespace: string, name: string): Promise<T | undefined>;
  list(namespace: string, labelSelector?: string, page?: ListPage): Promise<Listed<T>>;
  create(namespace: string, obj: T): Promise<CreateResult<T>>;
  replace(namespace: string, name: string, obj: T): Promise<T>;
  /** Deletes; a missing object is not an error. */
  delete(namespace: string, name: string, opts?: { gracePeriodSeconds?: number; uid?: string }): Promise<void>;
}

export interface KubeEvent {
  namespace: string;
  regarding: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  /** When it happened, if not now (a queued Event: job-events.ts). */
  at?: Date;
}

export interface KubePort {
  ucloudJobs: UCloudJobApi;
  pods: NamespacedApi<V1Pod>;
  configMaps: NamespacedApi<V1ConfigMap>;
  services: NamespacedApi<V1Service>;
  networkPolicies: NamespacedApi<V1NetworkPolicy>;
  /** discovery.k8s.io/v1: the peer aliases of a job (peer-aliases.ts). */
  endpointSlices: NamespacedApi<V1EndpointSlice>;
  leases: NamespacedApi<V1Lease>;
  /** scheduling.k8s.io/v1alpha2 PodGroups: a multi-rank job's gang (docs/adr/0025). */
  podGroups: NamespacedApi<PodGroup>;
  /** kueue.x-k8s.io/v1beta2 Workloads: a job's admission with the kueue gang backend (docs/adr/0025). */
  workloads: NamespacedApi<Workload>;
  /** Replaces a Workload's status (its Finished condition); 409 when resourceVersion is stale. */
  replaceWorkloadStatus(workload: Workload): Promise<Workload>;
  /** A Kueue ResourceFlavor (cluster-scoped), undefined when missing. */
  getResourceFlavor(name: string): Promise<ResourceFlavor | undefined>;
  /** Whether the apiserver serves `resource` in `group/version` (discovery; false on 404). */
  servesResource(group: string, version: string, resource: string): Promise<boolean>;
  listNodes(labelSelector?: string): Promise<V1Node[]>;
  recordEvent(event: KubeEvent): Promise<void>;
}
