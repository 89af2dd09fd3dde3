import type { V1Pod } from '@kubernetes/client-node';
import {
  MAX_ENDPOINTS_PER_SLICE,
  peerAliases,
  peerAliasService,
  peerEndpointSlices,
  peerSearchDomain,
  rankAddresses,
} from '../../../src/controller/desired/peer-aliases.js';
import { childMetadata } from '../../../src/controller/desired/owner.js';
import { unitConfig } from '../../support/config.js';
import { job, NS } from '../../support/job-factory.js';

const config = unitConfig();
const withPeers = job({
  peers: [
    { hostname: 'db', jobId: '900' },
    { hostname: 'web', jobId: '901' },
  ],
});

const pod = (rank: number, ip: string | undefined, phase = 'Running', deleting = false): V1Pod => ({
  metadata: { name: `p-${rank}`, labels: { 'ucloud.dk/rank': String(rank) }, ...(deleting ? { deletionTimestamp: new Date(0) } : {}) },
  status: { phase, ...(ip ? { podIP: ip } : {}) },
});

describe('rank addresses of a peer', () => {
  it('are the pod IPs by rank, leaving out pods without a live IP', () => {
    expect(
      rankAddresses([
        pod(2, '10.0.0.12'),
        pod(0, '10.0.0.10', 'Pending'),
        pod(1, undefined, 'Pending'),
        pod(3, '10.0.0.13', 'Succeeded'),
        pod(4, '10.0.0.14', 'Running', true),
        pod(5, '10.0.0.15', 'Failed'),
        { metadata: { name: 'stray' }, status: { phase: 'Running', podIP: '10.0.0.99' } },
      ]),
    ).toEqual(['10.0.0.10', undefined, '10.0.0.12']);
  });
});

describe('peer hostnames', () => {
  it('are <hostname> for rank 0 and <hostname>-<rank> for every rank', () => {
    expect(peerAliases(withPeers, { '900': ['10.0.0.10', '10.0.0.11'], '901': ['10.0.1.10'] })).toEqual([
      { hostname: 'db', peerJobId: '900', rank: 0, address: '10.0.0.10' },
      { hostname: 'web', peerJobId: '901', rank: 0, address: '10.0.1.10' },
      { hostname: 'db-0', peerJobId: '900', rank: 0, address: '10.0.0.10' },
      { hostname: 'db-1', peerJobId: '900', rank: 1, address: '10.0.0.11' },
      { hostname: 'web-0', peerJobId: '901', rank: 0, address: '10.0.1.10' },
    ]);
  });

  it('prefer the names the user chose and skip ranks without an address and names that are not labels', () => {
    const long = 'x'.repeat(62);
    const j = job({
      peers: [
        { hostname: 'db', jobId: '900' },
        { hostname: 'db-1', jobId: '902' },
        { hostname: long, jobId: '903' },
      ],
    });
    expect(peerAliases(j, { '900': ['10.0.0.10', '10.0.0.11', undefined, '10.0.0.13'], '902': ['10.0.2.10'], '903': ['10.0.3.10'] })).toEqual([
      { hostname: 'db', peerJobId: '900', rank: 0, address: '10.0.0.10' },
      { hostname: 'db-1', peerJobId: '902', rank: 0, address: '10.0.2.10' },
      { hostname: long, peerJobId: '903', rank: 0, address: '10.0.3.10' },
      { hostname: 'db-0', peerJobId: '900', rank: 0, address: '10.0.0.10' },
      { hostname: 'db-3', peerJobId: '900', rank: 3, address: '10.0.0.13' },
      { hostname: 'db-1-0', peerJobId: '902', rank: 0, address: '10.0.2.10' },
    ]);
  });
});

describe('the peer Service and its EndpointSlices', () => {
  it('exist only for a job with peers', () => {
    expect(peerAliasService(job(), config)).toBeUndefined();
    expect(peerEndpointSlices(job(), config, {})).toEqual([]);
  });

  it('are one selector-less headless Service named after the job', () => {
    expect(peerAliasService(withPeers, config)).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: childMetadata(withPeers, 'j-54112-peers'),
      spec: { clusterIP: 'None', publishNotReadyAddresses: true },
    });
    expect(peerSearchDomain(withPeers, config)).toBe(`j-54112-peers.${NS}.svc.cluster.local`);
  });

  it('list the aliases as ready endpoints pointing at the peer pods', () => {
    expect(peerEndpointSlices(withPeers, config, { '900': ['10.0.0.10'], '901': ['fd00::1'] })).toEqual([
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: childMetadata(
          withPeers,
          'j-54112-peers-ipv4-0',
          {},
          {
            'kubernetes.io/service-name': 'j-54112-peers',
            'endpointslice.kubernetes.io/managed-by': 'ucloud-operator',
            'service.kubernetes.io/headless': '',
          },
        ),
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.0.0.10'], hostname: 'db', conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: NS, name: 'j-900-0' } },
          { addresses: ['10.0.0.10'], hostname: 'db-0', conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: NS, name: 'j-900-0' } },
        ],
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: childMetadata(
          withPeers,
          'j-54112-peers-ipv6-0',
          {},
          {
            'kubernetes.io/service-name': 'j-54112-peers',
            'endpointslice.kubernetes.io/managed-by': 'ucloud-operator',
            'service.kubernetes.io/headless': '',
          },
        ),
        addressType: 'IPv6',
        endpoints: [
          { addresses: ['fd00::1'], hostname: 'web', conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: NS, name: 'j-901-0' } },
          { addresses: ['fd00::1'], hostname: 'web-0', conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: NS, name: 'j-901-0' } },
        ],
      },
    ]);
  });

  it('keep one (empty) slice while no peer runs yet', () => {
    const slices = peerEndpointSlices(withPeers, config, {});
    expect(slices.map((s) => [s.metadata?.name, s.addressType, s.endpoints])).toEqual([['j-54112-peers-ipv4-0', 'IPv4', []]]);
  });

  it('split at the API limit of endpoints per slice', () => {
    const ips = Array.from({ length: 1000 }, (_, r) => `10.1.${r >> 8}.${r & 255}`);
    const slices = peerEndpointSlices(withPeers, config, { '900': ips });
    // db + db-0..db-999 = 1001 aliases
    expect(slices.map((s) => [s.metadata?.name, s.endpoints?.length])).toEqual([
      ['j-54112-peers-ipv4-0', MAX_ENDPOINTS_PER_SLICE],
      ['j-54112-peers-ipv4-1', 1],
    ]);
  });
});
