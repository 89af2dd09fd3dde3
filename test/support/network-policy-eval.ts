// A small evaluator of Kubernetes NetworkPolicy (networking.k8s.io/v1) for tests. The test control
// plane (kwok) has no pod network and no CNI to enforce policies, so isolation tests read the
// policies, pods and namespaces back from the apiserver and ask this evaluator what a conforming
// network plugin would admit. Semantics, as the API reference documents them:
// - A policy applies to a pod when it is in the policy's namespace and spec.podSelector matches the
//   pod's labels ({} matches every pod). It isolates the pod for Ingress and/or Egress per
//   spec.policyTypes; without policyTypes, Ingress always and Egress only when spec.egress has rules.
// - A pod isolated in a direction by no policy is open in that direction. An isolated pod admits
//   traffic that matches at least one rule of at least one policy applying to it (policies add up);
//   an empty rule list admits nothing (deny-all).
// - A rule with no peers (`from`/`to` missing or empty) matches every peer; with no ports, every port.
// - A peer: podSelector alone = matching pods in the policy's own namespace; namespaceSelector alone
//   = every pod in matching namespaces; both in ONE peer = matching pods in matching namespaces
//   (AND); ipBlock = addresses in `cidr` and not in `except` (no selectors beside it).
// - A port: protocol defaults to TCP; no port = every port of that protocol; endPort makes a range.
// - A connection src -> dst needs src's egress to allow dst AND dst's ingress to allow src.
// Not modelled (and not needed by the operator's policies): named ports (throws), IPv6 ipBlocks
// (throws), the node-local exception for traffic from the pod's own node, hostNetwork pods.
// Whether ipBlock applies to pod IPs is left to the network plugin by Kubernetes; here a pod
// matches an ipBlock by its IP, the permissive reading, so a "denied" result never relies on it.
import type { V1LabelSelector, V1Namespace, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort, V1Pod } from '@kubernetes/client-node';

export interface PodEndpoint {
  kind: 'pod';
  /** For messages only. */
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  ip?: string;
}

/** An address outside the cluster's pods (the internet, the apiserver's Service IP, a node). */
export interface ExternalEndpoint {
  kind: 'external';
  name: string;
  ip: string;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

export interface Traffic {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
}

/** What a network plugin would know: every policy that may apply, and every namespace's labels. */
export interface ClusterView {
  policies: readonly V1NetworkPolicy[];
  namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export function podEndpoint(pod: V1Pod): PodEndpoint {
  const name = pod.metadata?.name;
  const namespace = pod.metadata?.namespace;
  if (!name || !namespace) throw new Error('a pod endpoint needs metadata.name and metadata.namespace');
  return {
    kind: 'pod',
    name: `${namespace}/${name}`,
    namespace,
    labels: { ...(pod.metadata?.labels ?? {}) },
    ...(pod.status?.podIP ? { ip: pod.status.podIP } : {}),
  };
}

export function clusterView(policies: readonly V1NetworkPolicy[], namespaces: readonly V1Namespace[]): ClusterView {
  return {
    policies,
    namespaceLabels: Object.fromEntries(namespaces.map((n) => [n.metadata!.name!, { ...(n.metadata?.labels ?? {}) }])),
  };
}

/** Standard label-selector semantics: every matchLabels pair AND every expression; {} matches all. */
export function selectorMatches(selector: V1LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown label selector operator ${e.operator}`);
    }
  }
  return true;
}

type Direction = 'Ingress' | 'Egress';

function isolates(policy: V1NetworkPolicy, direction: Direction): boolean {
  const types = policy.spec?.policyTypes;
  if (types && types.length) return types.includes(direction);
  return direction === 'Ingress' || (policy.spec?.egress?.length ?? 0) > 0;
}

function appliesTo(policy: V1NetworkPolicy, pod: PodEndpoint): boolean {
  if (policy.metadata?.namespace !== pod.namespace) return false;
  // podSelector is required by the API; a stored policy always has one ({} = every pod).
  return selectorMatches(policy.spec?.podSelector ?? {}, pod.labels);
}

function ipv4(addr: string): number {
  const parts = addr.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`not an IPv4 address (IPv6 ipBlocks are not modelled): ${addr}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function inCidr(addr: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!base || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipv4(base) / size) * size;
  const a = ipv4(addr);
  return a >= start && a < start + size;
}

function namespaceLabels(view: ClusterView, namespace: string): Readonly<Record<string, string>> {
  const labels = view.namespaceLabels[namespace];
  if (!labels) throw new Error(`the view has no labels for namespace ${namespace}`);
  return labels;
}

function peerMatches(view: ClusterView, policy: V1NetworkPolicy, peer: V1NetworkPolicyPeer, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (peer.podSelector || peer.namespaceSelector) throw new Error('invalid peer: ipBlock with a selector');
    if (!other.ip) return false;
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip!, c));
  }
  if (!peer.podSelector && !peer.namespaceSelector) throw new Error('invalid peer: no ipBlock, podSelector or namespaceSelector');
  if (other.kind !== 'pod') return false;
  const inNamespace = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabels(view, other.namespace))
    : other.namespace === policy.metadata?.namespace;
  return inNamespace && (!peer.podSelector || selectorMatches(peer.podSelector, other.labels));
}

function portMatches(ports: readonly V1NetworkPolicyPort[] | undefined, traffic: Traffic): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== (traffic.protocol ?? 'TCP')) return false;
    if (p.port === undefined || p.port === null) return true;
    if (typeof p.port !== 'number') throw new Error(`named ports are not modelled: ${String(p.port)}`);
    return traffic.port >= p.port && traffic.port <= (p.endPort ?? p.port);
  });
}

/** Peers of a rule: client-node calls an ingress rule's `from` `_from`; accept both spellings. */
function rulePeers(rule: object, direction: Direction): V1NetworkPolicyPeer[] | undefined {
  const r = rule as { _from?: V1NetworkPolicyPeer[]; from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] };
  return direction === 'Ingress' ? (r._from ?? r.from) : r.to;
}

/** Does `pod`'s side allow traffic in `direction` with `other` (the source for Ingress, the destination for Egress)? */
function sideAllows(view: ClusterView, pod: PodEndpoint, direction: Direction, other: Endpoint, traffic: Traffic): boolean {
  const applying = view.policies.filter((p) => appliesTo(p, pod) && isolates(p, direction));
  if (applying.length === 0) return true;
  return applying.some((policy) => {
    const rules = (direction === 'Ingress' ? policy.spec?.ingress : policy.spec?.egress) ?? [];
    return rules.some((rule) => {
      const peers = rulePeers(rule, direction);
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(view, policy, peer, other));
      return peerOk && portMatches(rule.ports, traffic);
    });
  });
}

export function ingressAllows(view: ClusterView, dst: PodEndpoint, src: Endpoint, traffic: Traffic): boolean {
  return sideAllows(view, dst, 'Ingress', src, traffic);
}

export function egressAllows(view: ClusterView, src: PodEndpoint, dst: Endpoint, traffic: Traffic): boolean {
  return sideAllows(view, src, 'Egress', dst, traffic);
}

/** A connection (or datagram) from src to dst: src's egress AND dst's ingress must allow it. An
 *  external endpoint has no policies of its own, so only the pod side is checked. */
export function connectionAllowed(view: ClusterView, src: Endpoint, dst: Endpoint, traffic: Traffic): boolean {
  if (src.kind === 'pod' && !egressAllows(view, src, dst, traffic)) return false;
  if (dst.kind === 'pod' && !ingressAllows(view, dst, src, traffic)) return false;
  return true;
}
