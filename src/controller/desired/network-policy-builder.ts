// A job's pods talk to each other and to nothing else by default (UCloud: "only allowed to perform
// networking with other nodes in the same Job"), plus cluster DNS so rank and peer hostnames
// resolve, plus declared peers. Kubernetes admits a connection only when the sender's egress AND
// the receiver's ingress allow it, so a peering works only when both jobs' policies name each
// other: each policy lists the jobs it named (spec.peers) and the jobs that named it
// (peersOfOthers), in both directions, as UCloud's FirewallPlugin patches both policies.
//
// The internet (jobs.networkPolicy.egress, docs/adr/0019): with `internet`, one more egress rule
// admits every IPv4 address outside the excepted ranges, as IM2's chart does for its apps
// namespace (apps.netpol.egress.blockPrivate, provider-integration/im2/docs/src/k8s/installation.md)
// with IM2's own list of ranges (shared/network_policy.go). Cluster pods, nodes, the apiserver's
// and the operator's addresses are private on any ordinary cluster, so they stay out; a site whose
// own addresses are public lists them in extraExcept. IPv6 is not opened (IM2 opens none).
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { jobResourceName, networkPolicyName } from '../../api/v1alpha1/names.js';
import { LABEL_JOB, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { childMetadata } from './owner.js';

/** Without a namespaceSelector a pod selector matches only the policy's own namespace, where every job lives. */
const podsOf = (jobName: string): V1NetworkPolicyPeer => ({ podSelector: { matchLabels: { [LABEL_JOB]: jobName } } });

/** The UCloudJob names this job may exchange traffic with besides itself, sorted for a stable spec. */
export function peerJobNames(job: UCloudJob, peersOfOthers: readonly string[] = []): string[] {
  const own = job.metadata.name;
  const names = new Set([...job.spec.peers.map((p) => jobResourceName(p.jobId)), ...peersOfOthers]);
  names.delete(own);
  return [...names].sort();
}

/**
 * @param peersOfOthers names of other UCloudJobs that declared this job as a peer.
 */
export function networkPolicyFor(job: UCloudJob, config: OperatorConfig, peersOfOthers: readonly string[] = []): V1NetworkPolicy {
  const own = job.metadata.name;
  const names = [own, ...peerJobNames(job, peersOfOthers)];
  const allowed = () => names.map(podsOf);
  const np = config.jobs.networkPolicy;
  const egress: V1NetworkPolicyEgressRule[] = [{ to: allowed() }];
  if (np.allowDns) {
    egress.push({
      to: [
        {
          // Both selectors in one peer: DNS pods *in* the DNS namespace, not either.
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': np.dnsNamespace } },
          podSelector: { matchLabels: { ...np.dnsPodLabels } },
        },
        ...np.dnsIpBlocks.map((cidr) => ({ ipBlock: { cidr } })),
      ],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
  }
  if (np.egress.allow === 'internet') {
    egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...new Set([...np.egress.except, ...np.egress.extraExcept])] } }] });
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMetadata(job, networkPolicyName(own)),
    spec: {
      podSelector: { matchLabels: { [LABEL_JOB]: own } },
      policyTypes: ['Ingress', 'Egress'],
      // `_from` is client-node's name for `from` (a reserved word); its serializer writes `from`.
      ingress: [{ _from: allowed() }],
      egress,
    },
  };
}
