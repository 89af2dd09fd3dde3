// Deterministic names: the same UCloud job id always maps to the same UCloudJob and child names,
// which is what makes a repeated create idempotent and lets a restarted operator find everything.
import { createHash } from 'node:crypto';

/** The container of a rank pod that runs the user's program (follow, shell and the state mapping read it by name). */
export const USER_CONTAINER = 'user-job';

// Pod names double as hostnames (a DNS label, ≤ 63 chars): "<job name>-<rank>" with rank < 1000
// leaves 59 characters for the job name.
const MAX_JOB_NAME = 40;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/**
 * UCloudJob name for a UCloud job id: `j-<id>` when the id is short and of lower-case letters and
 * digits only (Core's ids are numbers), else `j-<hash>`. Never a "-" inside the id part: every child
 * is `<job name>-<suffix>` (`-ssh`, `-etc`, `-policy`, `-<rank>`, `-web-<rank>`, ...), so a job id
 * "5-ssh" must not be the name job 5's SSH Service has. Both forms have no "-" after `j-`, hence no
 * job name equals another job's child name.
 */
export function jobResourceName(jobId: string): string {
  const candidate = `j-${jobId}`;
  if (candidate.length <= MAX_JOB_NAME && SIMPLE_ID.test(jobId)) return candidate;
  return `j-${shortHash(jobId)}`;
}

const SIMPLE_ID = /^[a-z0-9]+$/;

/** A label value safe to hold the job id (hash when the id is not a valid label value). */
export function jobIdLabelValue(jobId: string): string {
  return jobId.length <= 63 && LABEL_VALUE.test(jobId) ? jobId : shortHash(jobId);
}

export const podName = (jobName: string, rank: number): string => `${jobName}-${rank}`;
export const serviceName = (jobName: string): string => jobName;
export const configMapName = (jobName: string): string => `${jobName}-etc`;
export const networkPolicyName = (jobName: string): string => `${jobName}-policy`;
/** Secret (authorized_keys), Service and NetworkPolicy of a job's SSH access (adapter/sessions/ssh.ts). */
export const sshObjectName = (jobName: string): string => `${jobName}-ssh`;

/** Stable DNS name of a rank, through the job's headless Service. */
export function rankHostname(jobName: string, rank: number, namespace: string, clusterDomain: string): string {
  return `${podName(jobName, rank)}.${serviceName(jobName)}.${namespace}.svc.${clusterDomain}`;
}
