// The /etc/ucloud files every rank sees (spec: "Multi-replica Jobs"): node-<r>.txt, nodes.txt,
// number_of_nodes.txt, cores.txt, job_id.txt in one ConfigMap per job, plus rank.txt, which
// differs per pod and so comes from the downward API (the pod's rank label) in a projected volume.
// One ConfigMap per job instead of one per rank keeps 100 eight-rank jobs at 100 objects, and
// static content (IM2 writes the same, from an init container) means no init container at all.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { configMapName, rankHostname } from '../../api/v1alpha1/names.js';
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { invocationFiles } from './invocation-init.js';
import { jobParametersFiles } from './job-folder.js';
import { childMetadata, jobIdentity } from './owner.js';

export const RANK_FILE = 'rank.txt';
export const ETC_UCLOUD = '/etc/ucloud';

/** The stable FQDN of every rank, rank order. */
export function rankHostnames(job: UCloudJob, config: OperatorConfig): string[] {
  const { name, namespace } = jobIdentity(job);
  return Array.from({ length: job.spec.replicas }, (_, r) => rankHostname(name, r, namespace, config.jobs.clusterDomain));
}

/** The files all ranks share. Each is newline-terminated, as UCloud's backends write them. */
export function rankFiles(job: UCloudJob, config: OperatorConfig): Record<string, string> {
  const hosts = rankHostnames(job, config);
  const files: Record<string, string> = {
    'nodes.txt': hosts.map((h) => `${h}\n`).join(''),
    'number_of_nodes.txt': `${job.spec.replicas}\n`,
    'cores.txt': `${job.spec.product.cpu}\n`,
    'job_id.txt': `${job.spec.jobId}\n`,
  };
  hosts.forEach((h, r) => (files[`node-${r}.txt`] = `${h}\n`));
  return files;
}

export function configMap(job: UCloudJob, config: OperatorConfig): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMetadata(job, configMapName(job.metadata.name)),
    // A jinja job's template and values ride along for its init containers (invocation-init.ts),
    // a job folder's JobParameters.json for rank 0 to copy (job-folder.ts).
    data: { ...rankFiles(job, config), ...invocationFiles(job), ...jobParametersFiles(job) },
  };
}

/**
 * Exactly the files one rank finds in /etc/ucloud: the ConfigMap plus its rank.txt. The downward
 * API writes a label's value as is, so rank.txt has no trailing newline (still a single line).
 */
export function rankViewOf(configMapData: Record<string, string>, rank: number): Record<string, string> {
  return { ...configMapData, [RANK_FILE]: String(rank) };
}
