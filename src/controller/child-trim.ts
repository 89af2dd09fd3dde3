// The reconciler watches its jobs' ConfigMaps, Services and NetworkPolicies to notice when one
// disappears or is edited by someone else, and, after a restart, to see that a job's children are
// already in place without asking the apiserver (docs/adr/0011). Their identity is all it keeps,
// plus, for a NetworkPolicy, a digest of its spec: the one child whose content it verifies.
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalHash } from './canonical-json.js';

export type ChildIdentity = KubernetesObject & {
  metadata: NonNullable<KubernetesObject['metadata']>;
  /** canonicalHash(spec), when the informer asks for it. */
  specHash?: string;
};

export function trimToIdentity(raw: unknown, withSpecHash = false): ChildIdentity {
  const m = (raw as KubernetesObject).metadata ?? {};
  const spec = (raw as { spec?: unknown }).spec;
  return {
    apiVersion: (raw as KubernetesObject).apiVersion,
    kind: (raw as KubernetesObject).kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels, deletionTimestamp: m.deletionTimestamp },
    ...(withSpecHash && spec !== undefined ? { specHash: canonicalHash(spec) } : {}),
  };
}
