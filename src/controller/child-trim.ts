// The reconciler watches its jobs' ConfigMaps, Services and NetworkPolicies only to notice when
// one disappears or is edited by someone else; their identity is all it needs to keep.
import type { KubernetesObject } from '@kubernetes/client-node';

export type ChildIdentity = KubernetesObject & { metadata: NonNullable<KubernetesObject['metadata']> };

export function trimToIdentity(raw: unknown): ChildIdentity {
  const m = (raw as KubernetesObject).metadata ?? {};
  return {
    apiVersion: (raw as KubernetesObject).apiVersion,
    kind: (raw as KubernetesObject).kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels },
  };
}
