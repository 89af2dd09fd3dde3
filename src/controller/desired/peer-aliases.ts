// Peer hostnames (UCloud #842: <hostname> is the peer's rank 0, <hostname>-<r> its rank r) as DNS
// names private to one job (docs/adr/0004-state-mapping.md, "Peer hostnames").
//
// Every UCloudJob shares one namespace, so a Service named after a user's hostname ("db") would
// collide with the next job that picks the same hostname for another peer. Instead each job with
// peers owns one selector-less headless Service, <job>-peers, whose EndpointSlices list the peers'
// pod IPs under the user's hostnames; CoreDNS then answers <hostname>.<job>-peers.<ns>.svc.<domain>,
// and the job's pods carry that domain in their DNS search path, so a bare "db" resolves. The
// Service and its search domain never change; only the slices follow the peers' pods.
import type { V1EndpointSlice, V1Endpoint, V1Pod, V1Service } from '@kubernetes/client-node';
import { jobResourceName, podName } from '../../api/v1alpha1/names.js';
import { MANAGED_BY, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { childMetadata, jobIdentity } from './owner.js';
import { podRank } from '../pod-facts.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The apiserver refuses an EndpointSlice with more endpoints than this. */
export const MAX_ENDPOINTS_PER_SLICE = 1000;

export const peerServiceName = (jobName: string): string => `${jobName}-peers`;

/** The DNS search domain under which a job's pods find their peers by bare hostname. */
export function peerSearchDomain(job: UCloudJob, config: OperatorConfig): string {
  const { name, namespace } = jobIdentity(job);
  return `${peerServiceName(name)}.${namespace}.svc.${config.jobs.clusterDomain}`;
}

/** Pod IP per rank of one peer job; undefined where the rank has no usable pod (yet). */
export type RankAddresses = ReadonlyArray<string | undefined>;
/** Peer job id → its ranks' pod IPs. */
export type PeerAddresses = Readonly<Record<string, RankAddresses>>;

/**
 * Rank → pod IP for one job's pods. Pods being deleted or finished are left out: their IP is about
 * to be, or already is, free for another pod, and a stale alias would point at a stranger.
 */
export function rankAddresses(pods: readonly V1Pod[]): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  for (const pod of pods) {
    const rank = podRank(pod);
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (rank === undefined || !ip || pod.metadata?.deletionTimestamp) continue;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    while (out.length < rank) out.push(undefined);
    out[rank] = ip;
  }
  return out;
}

export interface PeerAlias {
  /** The bare name the job's programs use. */
  hostname: string;
  peerJobId: string;
  rank: number;
  address: string;
}

/**
 * The alias table: `<hostname>` for rank 0 of each peer, then `<hostname>-<r>` for every rank.
 * Names the user chose outrank derived ones (peers "db" and "db-1" → "db-1" is the peer the user
 * called that, not rank 1 of "db"); names that are not DNS labels (too long) are left out.
 */
export function peerAliases(job: UCloudJob, peerAddresses: PeerAddresses): PeerAlias[] {
  const out: PeerAlias[] = [];
  const taken = new Set<string>();
  const add = (hostname: string, peerJobId: string, rank: number, address: string | undefined) => {
    if (address === undefined || taken.has(hostname) || !DNS_LABEL.test(hostname)) return;
    taken.add(hostname);
    out.push({ hostname, peerJobId, rank, address });
  };
  for (const peer of job.spec.peers) add(peer.hostname, peer.jobId, 0, peerAddresses[peer.jobId]?.[0]);
  for (const peer of job.spec.peers) {
    const addresses = peerAddresses[peer.jobId] ?? [];
    addresses.forEach((address, rank) => add(`${peer.hostname}-${rank}`, peer.jobId, rank, address));
  }
  return out;
}

/** The job's peer Service, or undefined when the job has no peers. */
export function peerAliasService(job: UCloudJob, _config: OperatorConfig): V1Service | undefined {
  if (!job.spec.peers.length) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(job, peerServiceName(job.metadata.name)),
    // No selector: the operator writes the endpoints. No ports: see service-builder.ts.
    spec: { clusterIP: 'None', publishNotReadyAddresses: true },
  };
}

/**
 * The EndpointSlices behind the peer Service, at most 1000 endpoints each and one address family
 * per slice (an API rule). A job with peers always gets at least the first IPv4 slice, even empty,
 * so the set of objects only grows with the peers' size and the reconciler can create-or-replace
 * by name and delete the job's slices that are not in the list.
 */
export function peerEndpointSlices(job: UCloudJob, config: OperatorConfig, peerAddresses: PeerAddresses): V1EndpointSlice[] {
  if (!job.spec.peers.length) return [];
  const { name, namespace } = jobIdentity(job);
  const service = peerServiceName(name);
  const byFamily: Record<'IPv4' | 'IPv6', V1Endpoint[]> = { IPv4: [], IPv6: [] };
  for (const alias of peerAliases(job, peerAddresses)) {
    byFamily[alias.address.includes(':') ? 'IPv6' : 'IPv4'].push({
      addresses: [alias.address],
      hostname: alias.hostname,
      // CoreDNS serves only ready endpoints; the peer's own readiness is not ours to judge.
      conditions: { ready: true },
      targetRef: { kind: 'Pod', namespace, name: podName(jobResourceName(alias.peerJobId), alias.rank) },
    });
  }
  const slices: V1EndpointSlice[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const endpoints = byFamily[family];
    const chunks = Math.max(family === 'IPv4' ? 1 : 0, Math.ceil(endpoints.length / MAX_ENDPOINTS_PER_SLICE));
    for (let k = 0; k < chunks; k++) {
      slices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: childMetadata(
          job,
          `${service}-${family.toLowerCase()}-${k}`,
          {},
          {
            'kubernetes.io/service-name': service,
            // Not the EndpointSlice controller's value, so it leaves these slices alone.
            'endpointslice.kubernetes.io/managed-by': MANAGED_BY,
            // kube-proxy skips headless slices by this label; without it it would try to program them.
            'service.kubernetes.io/headless': '',
          },
        ),
        addressType: family,
        endpoints: endpoints.slice(k * MAX_ENDPOINTS_PER_SLICE, (k + 1) * MAX_ENDPOINTS_PER_SLICE),
      });
    }
  }
  return slices;
}
