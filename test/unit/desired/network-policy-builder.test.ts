import { IM2_PRIVATE_RANGES } from '../../../src/config.js';
import { networkPolicyFor, peerJobNames } from '../../../src/controller/desired/network-policy-builder.js';
import { childMetadata } from '../../../src/controller/desired/owner.js';
import { unitConfig } from '../../support/config.js';
import { job } from '../../support/job-factory.js';

const pods = (name: string) => ({ podSelector: { matchLabels: { 'ucloud.dk/job': name } } });
const dns = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

const internet = { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...IM2_PRIVATE_RANGES] } }] };
const noInternet = { jobs: { networkPolicy: { egress: { allow: 'none' } } } };

describe('the NetworkPolicy', () => {
  it('of a job without peers admits only its own pods, plus DNS and the public internet', () => {
    expect(networkPolicyFor(job(), unitConfig())).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: childMetadata(job(), 'j-54112-policy'),
      spec: {
        podSelector: { matchLabels: { 'ucloud.dk/job': 'j-54112' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ _from: [pods('j-54112')] }],
        egress: [{ to: [pods('j-54112')] }, dns, internet],
      },
    });
  });

  it('opens the internet as IM2 does: every IPv4 address but private, link-local, loopback and reserved ones', () => {
    const except = networkPolicyFor(job(), unitConfig()).spec?.egress?.[2]?.to?.[0]?.ipBlock?.except;
    // The ranges behind the metadata service, cluster networks, nodes on RFC 1918 and the loopback.
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8']) expect(except).toContain(cidr);
  });

  it("adds the site's own public addresses to the excepted ranges", () => {
    const config = unitConfig({ jobs: { networkPolicy: { egress: { extraExcept: ['100.128.4.0/24', '10.0.0.0/8'] } } } });
    expect(networkPolicyFor(job(), config).spec?.egress?.[2]?.to?.[0]?.ipBlock?.except).toEqual([...IM2_PRIVATE_RANGES, '100.128.4.0/24']);
    expect(() => unitConfig({ jobs: { networkPolicy: { egress: { extraExcept: ['2001:db8::/32'] } } } })).toThrow();
  });

  it('with egress none admits no address outside the cluster (only the job and DNS)', () => {
    expect(networkPolicyFor(job(), unitConfig(noInternet)).spec?.egress).toEqual([{ to: [pods('j-54112')] }, dns]);
  });

  it('without DNS denies everything but the job itself', () => {
    const spec = networkPolicyFor(job(), unitConfig({ jobs: { networkPolicy: { allowDns: false, egress: { allow: 'none' } } } })).spec;
    expect(spec?.egress).toEqual([{ to: [pods('j-54112')] }]);
    expect(spec?.ingress).toEqual([{ _from: [pods('j-54112')] }]);
  });

  it('uses the configured DNS namespace and pod labels', () => {
    const config = unitConfig({ jobs: { networkPolicy: { dnsNamespace: 'dns', dnsPodLabels: { app: 'coredns' } } } });
    expect(networkPolicyFor(job(), config).spec?.egress?.[1]?.to).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } }, podSelector: { matchLabels: { app: 'coredns' } } },
    ]);
  });

  it('admits DNS servers outside the pod network by CIDR, on port 53 only', () => {
    const config = unitConfig({ jobs: { networkPolicy: { dnsIpBlocks: ['169.254.20.10/32', '192.0.2.2/32'] } } });
    const dns = networkPolicyFor(job(), config).spec?.egress?.[1];
    expect(dns?.to?.slice(1)).toEqual([{ ipBlock: { cidr: '169.254.20.10/32' } }, { ipBlock: { cidr: '192.0.2.2/32' } }]);
    expect(dns?.ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    expect(() => unitConfig({ jobs: { networkPolicy: { dnsIpBlocks: ['not-a-cidr'] } } })).toThrow();
  });

  it('admits the peers it named and the jobs that named it, both ways', () => {
    const j = job({
      peers: [
        { hostname: 'web', jobId: '901' },
        { hostname: 'db', jobId: '900' },
      ],
    });
    const spec = networkPolicyFor(j, unitConfig(), ['j-905', 'j-900', 'j-54112']).spec;
    const allowed = [pods('j-54112'), pods('j-900'), pods('j-901'), pods('j-905')];
    expect(spec?.ingress).toEqual([{ _from: allowed }]);
    expect(spec?.egress).toEqual([{ to: allowed }, dns, internet]);
  });

  it('names hashed peers by their resource name', () => {
    const id = 'x'.repeat(50);
    expect(peerJobNames(job({ peers: [{ hostname: 'db', jobId: id }] }))).toEqual([expect.stringMatching(/^j-[0-9a-f]{16}$/)]);
  });
});
