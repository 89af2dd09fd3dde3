// The test support NetworkPolicy evaluator (test/support/network-policy-eval.ts) against hand-written
// cases from the Kubernetes documentation ("Network Policies" concept page and the
// networking.k8s.io/v1 API reference): the default deny/allow policies, the AND of podSelector and
// namespaceSelector in one peer versus the OR of two peers, policyTypes defaulting, ports and
// ipBlock, policies adding up, and a connection needing both egress and ingress.
import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';
import {
  connectionAllowed,
  egressAllows,
  inCidr,
  ingressAllows,
  selectorMatches,
  type ClusterView,
  type Endpoint,
  type PodEndpoint,
  type Traffic,
} from '../support/network-policy-eval.js';

const namespaceLabels = {
  prod: { 'kubernetes.io/metadata.name': 'prod', user: 'alice' },
  dev: { 'kubernetes.io/metadata.name': 'dev', user: 'bob' },
  'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' },
};

const pod = (namespace: string, name: string, labels: Record<string, string>, ip?: string): PodEndpoint => ({
  kind: 'pod',
  name: `${namespace}/${name}`,
  namespace,
  labels,
  ...(ip ? { ip } : {}),
});
const db = pod('prod', 'db', { role: 'db' }, '10.244.0.10');
const frontend = pod('prod', 'frontend', { role: 'frontend' }, '10.244.0.11');
const client = pod('prod', 'client', { role: 'client' }, '10.244.0.12');
const devClient = pod('dev', 'client', { role: 'client' }, '10.244.1.12');
const devOther = pod('dev', 'other', { role: 'other' }, '10.244.1.13');
const dns = pod('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }, '10.244.2.2');
const internet: Endpoint = { kind: 'external', name: '8.8.8.8', ip: '8.8.8.8' };
const office: Endpoint = { kind: 'external', name: '172.17.0.5', ip: '172.17.0.5' };
const officeExcepted: Endpoint = { kind: 'external', name: '172.17.1.5', ip: '172.17.1.5' };

const np = (namespace: string, name: string, spec: V1NetworkPolicySpec): V1NetworkPolicy => ({ metadata: { namespace, name }, spec });
const view = (...policies: V1NetworkPolicy[]): ClusterView => ({ policies, namespaceLabels });
const tcp = (port: number): Traffic => ({ protocol: 'TCP', port });
const udp = (port: number): Traffic => ({ protocol: 'UDP', port });

// The documentation's default policies.
const denyAllIngress = np('prod', 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const allowAllIngress = np('prod', 'allow-all-ingress', { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] });
const denyAllEgress = np('prod', 'default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
const denyAll = np('prod', 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
// Modelled on the concept page's example: db pods admit 172.17.0.0/16 except 172.17.1.0/24, pods of namespaces
// labelled user=alice, and frontend pods of the policy's namespace, on TCP 6379; they may send to
// 10.0.0.0/24 on TCP 5978 only.
const docsExample = np('prod', 'test-network-policy', {
  podSelector: { matchLabels: { role: 'db' } },
  policyTypes: ['Ingress', 'Egress'],
  ingress: [
    {
      _from: [
        { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
        { namespaceSelector: { matchLabels: { user: 'alice' } } },
        { podSelector: { matchLabels: { role: 'frontend' } } },
      ],
      ports: [{ protocol: 'TCP', port: 6379 }],
    },
  ],
  egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 5978 }] }],
});
// One peer with both selectors (AND) versus two peers (OR), the concept page's warning.
const andPeer = np('prod', 'and', {
  podSelector: { matchLabels: { role: 'db' } },
  policyTypes: ['Ingress'],
  ingress: [{ _from: [{ namespaceSelector: { matchLabels: { user: 'bob' } }, podSelector: { matchLabels: { role: 'client' } } }] }],
});
const orPeers = np('prod', 'or', {
  podSelector: { matchLabels: { role: 'db' } },
  policyTypes: ['Ingress'],
  ingress: [{ _from: [{ namespaceSelector: { matchLabels: { user: 'bob' } } }, { podSelector: { matchLabels: { role: 'client' } } }] }],
});

type Case = [string, ClusterView, Endpoint, Endpoint, Traffic, boolean];
const cases: Case[] = [
  ['no policy selects either pod: open', view(), client, db, tcp(80), true],
  ['no policy selects the pod: open to the internet both ways', view(), internet, db, tcp(80), true],
  ['default deny ingress: nothing reaches prod pods', view(denyAllIngress), frontend, db, tcp(6379), false],
  ['default deny ingress: other namespaces are not affected', view(denyAllIngress), devClient, devOther, tcp(80), true],
  ['default deny ingress: egress stays open', view(denyAllIngress), db, internet, tcp(443), true],
  ['allow all ingress on top of deny all ingress: policies add up', view(denyAllIngress, allowAllIngress), devClient, db, tcp(80), true],
  ['default deny egress: prod pods cannot send', view(denyAllEgress), db, internet, tcp(443), false],
  ['default deny egress: not even to a pod with open ingress', view(denyAllEgress), db, devClient, tcp(80), false],
  ['default deny egress: ingress stays open', view(denyAllEgress), internet, db, tcp(80), true],
  ['default deny all: in', view(denyAll), frontend, db, tcp(80), false],
  ['default deny all: out', view(denyAll), db, dns, udp(53), false],
  ['docs example: frontend pod of the same namespace on TCP 6379', view(docsExample), frontend, db, tcp(6379), true],
  ['docs example: frontend on another port', view(docsExample), frontend, db, tcp(6380), false],
  ['docs example: UDP 6379 is not TCP 6379', view(docsExample), frontend, db, udp(6379), false],
  ['docs example: any pod of a namespace labelled user=alice', view(docsExample), client, db, tcp(6379), true],
  ['docs example: a frontend-like pod in a namespace not labelled user=alice', view(docsExample), pod('dev', 'fe', { role: 'frontend' }), db, tcp(6379), false],
  ['docs example: an address in the ipBlock', view(docsExample), office, db, tcp(6379), true],
  ['docs example: an address in the ipBlock except range', view(docsExample), officeExcepted, db, tcp(6379), false],
  ['docs example: egress to 10.0.0.0/24 on TCP 5978', view(docsExample), db, { kind: 'external', name: '10.0.0.7', ip: '10.0.0.7' }, tcp(5978), true],
  ['docs example: egress elsewhere', view(docsExample), db, internet, tcp(5978), false],
  ['docs example: DNS is not allowed by it either', view(docsExample), db, dns, udp(53), false],
  ['AND peer: client pod in a user=bob namespace', view(andPeer), devClient, db, tcp(80), true],
  ['AND peer: client pod in the policy namespace (not user=bob)', view(andPeer), client, db, tcp(80), false],
  ['AND peer: another pod in the user=bob namespace', view(andPeer), devOther, db, tcp(80), false],
  ['OR peers: any pod of the user=bob namespace', view(orPeers), devOther, db, tcp(80), true],
  ['OR peers: a client pod of the policy namespace', view(orPeers), client, db, tcp(80), true],
  ['OR peers: a podSelector alone does not reach into other namespaces', view(orPeers), pod('kube-system', 'client', { role: 'client' }), db, tcp(80), false],
  ['OR peers: a frontend pod of the policy namespace', view(orPeers), frontend, db, tcp(80), false],
  ["a connection needs the sender's egress too", view(orPeers, denyAllEgress), client, db, tcp(80), false],
  [
    'policies add up: an allow-all ingress outweighs an empty ingress list',
    view(allowAllIngress, np('prod', 'db-in', { podSelector: { matchLabels: { role: 'db' } }, policyTypes: ['Ingress'], ingress: [] })),
    client,
    db,
    tcp(80),
    true,
  ],
];

describe('the NetworkPolicy evaluator', () => {
  it.each(cases)('%s', (_name, v, src, dst, traffic, expected) => {
    expect(connectionAllowed(v, src, dst, traffic)).toBe(expected);
  });

  it("an empty ingress list of the only policy selecting a pod denies; another policy's rule admits", () => {
    const deny = np('prod', 'db-in', { podSelector: { matchLabels: { role: 'db' } }, policyTypes: ['Ingress'], ingress: [] });
    expect(ingressAllows(view(deny), db, client, tcp(80))).toBe(false);
    expect(ingressAllows(view(deny), client, db, tcp(80))).toBe(true); // client is not selected
    const admitClients = np('prod', 'clients', {
      podSelector: { matchLabels: { role: 'db' } },
      ingress: [{ _from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
    });
    expect(ingressAllows(view(deny, admitClients), db, client, tcp(80))).toBe(true);
    expect(ingressAllows(view(deny, admitClients), db, frontend, tcp(80))).toBe(false);
  });

  it('policyTypes omitted: Ingress always, Egress only when the policy has egress rules', () => {
    const ingressOnly = np('prod', 'p', { podSelector: {} });
    expect(ingressAllows(view(ingressOnly), db, client, tcp(80))).toBe(false);
    expect(egressAllows(view(ingressOnly), db, internet, tcp(80))).toBe(true);
    const withEgress = np('prod', 'p', { podSelector: {}, egress: [{ to: [{ podSelector: { matchLabels: { role: 'client' } } }] }] });
    expect(egressAllows(view(withEgress), db, internet, tcp(80))).toBe(false);
    expect(egressAllows(view(withEgress), db, client, tcp(80))).toBe(true);
    // A rule with no peers matches every peer, one with no ports every port.
    expect(egressAllows(view(np('prod', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] })), db, internet, udp(9))).toBe(true);
  });

  it('an empty namespaceSelector selects every namespace; the pod side still has to match', () => {
    const fromAll = np('prod', 'p', {
      podSelector: { matchLabels: { role: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [{ _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'client' } } }] }],
    });
    expect(ingressAllows(view(fromAll), db, devClient, tcp(80))).toBe(true);
    expect(ingressAllows(view(fromAll), db, client, tcp(80))).toBe(true);
    expect(ingressAllows(view(fromAll), db, devOther, tcp(80))).toBe(false);
    expect(ingressAllows(view(fromAll), db, internet, tcp(80))).toBe(false); // selectors never match addresses
  });

  it('ports: TCP by default, a port range with endPort, a protocol without a port is every port', () => {
    const ports = np('prod', 'p', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 8000, endPort: 8010 }, { protocol: 'UDP' }] }],
    });
    expect(ingressAllows(view(ports), db, client, tcp(8000))).toBe(true);
    expect(ingressAllows(view(ports), db, client, tcp(8010))).toBe(true);
    expect(ingressAllows(view(ports), db, client, tcp(8011))).toBe(false);
    expect(ingressAllows(view(ports), db, client, udp(1))).toBe(true);
    expect(ingressAllows(view(ports), db, client, { protocol: 'SCTP', port: 8000 })).toBe(false);
    expect(() => ingressAllows(view(np('prod', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })), db, client, tcp(80))).toThrow(
      /named ports/,
    );
  });

  it('label selectors: matchLabels AND matchExpressions In / NotIn / Exists / DoesNotExist', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web', tier: 'back' } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels)).toBe(false);
    // NotIn matches a missing key.
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels)).toBe(false);
  });

  it('CIDR arithmetic', () => {
    expect(inCidr('10.0.0.255', '10.0.0.0/24')).toBe(true);
    expect(inCidr('10.0.1.0', '10.0.0.0/24')).toBe(false);
    expect(inCidr('1.2.3.4', '0.0.0.0/0')).toBe(true);
    expect(inCidr('192.168.5.5', '192.168.5.5/32')).toBe(true);
    expect(inCidr('192.168.5.6', '192.168.5.5/32')).toBe(false);
    expect(() => inCidr('fd00::1', '10.0.0.0/8')).toThrow(/IPv4/);
  });
});
