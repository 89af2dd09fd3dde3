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

describe('the NetworkPolicy', () => {
  it('of a job without peers admits only its own pods, plus DNS', () => {
    expect(networkPolicyFor(job(), unitConfig())).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: childMetadata(job(), 'j-54112-policy'),
      spec: {
        podSelector: { matchLabels: { 'ucloud.dk/job': 'j-54112' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ _from: [pods('j-54112')] }],
        egress: [{ to: [pods('j-54112')] }, dns],
      },
    });
  });

  it('without DNS denies everything but the job itself', () => {
    const spec = networkPolicyFor(job(), unitConfig({ jobs: { networkPolicy: { allowDns: false } } })).spec;
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
    expect(dns?.ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
    expect(() => unitConfig({ jobs: { networkPolicy: { dnsIpBlocks: ['not-a-cidr'] } } })).toThrow();
  });

  it('admits the peers it named and the jobs that named it, both ways', () => {
    const j = job({ peers: [{ hostname: 'web', jobId: '901' }, { hostname: 'db', jobId: '900' }] });
    const spec = networkPolicyFor(j, unitConfig(), ['j-905', 'j-900', 'j-54112']).spec;
    const allowed = [pods('j-54112'), pods('j-900'), pods('j-901'), pods('j-905')];
    expect(spec?.ingress).toEqual([{ _from: allowed }]);
    expect(spec?.egress).toEqual([{ to: allowed }, dns]);
  });

  it('names hashed peers by their resource name', () => {
    const id = 'x'.repeat(50);
    expect(peerJobNames(job({ peers: [{ hostname: 'db', jobId: id }] }))).toEqual([expect.stringMatching(/^j-[0-9a-f]{16}$/)]);
  });
});
