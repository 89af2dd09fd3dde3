// The reconciler watches its jobs' ConfigMaps, Services and NetworkPolicies to notice when one
// disappears or is edited by someone else, and, after a restart, to see that a job's children are
// already in place without asking the apiserver (docs/adr/0011). Their identity is all it keeps,
// plus, for a NetworkPolicy, a digest of its spec: the one child whose content it verifies.
import type { KubernetesObject } from '@kubernetes/client-node';
import { share, shareStrings } from '../k8s/shared-strings.js';
import { canonicalHash } from './canonical-json.js';

export type ChildIdentity = KubernetesObject & {
  metadata: NonNullable<KubernetesObject['metadata']>;
  /** policySpecHash(spec), when the informer asks for it. */
  specHash?: string;
};

/**
 * Digest of a NetworkPolicy spec in its wire form. client-node's models name `from` `_from` (a
 * reserved word): objects built by us or listed through client-node carry `_from`, objects from a
 * watch event the wire's `from`. The same policy must digest the same either way.
 */
export function policySpecHash(spec: unknown): string {
  return canonicalHash(wireKeys(spec));
}

function wireKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(wireKeys);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k === '_from' ? 'from' : k, wireKeys(x)]));
}

export function trimToIdentity(raw: unknown, withSpecHash = false): ChildIdentity {
  const m = (raw as KubernetesObject).metadata ?? {};
  const spec = (raw as { spec?: unknown }).spec;
  return {
    apiVersion: share((raw as KubernetesObject).apiVersion),
    kind: share((raw as KubernetesObject).kind),
    metadata: {
      name: m.name,
      namespace: share(m.namespace),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: shareStrings(m.labels),
      deletionTimestamp: m.deletionTimestamp,
    },
    ...(withSpecHash && spec !== undefined ? { specHash: policySpecHash(spec) } : {}),
  };
}
