// Replaying a finished job's saved log (docs/adr/0018): the rank pods are gone, their logs with
// them, but /work/stdout-<rank>.log is in the job folder. The operator never mounts user storage,
// so a short pod per rank reads the file (the job's own image, as the job's user, the folder
// read-only) and follow streams that pod's log. Each reader is fenced by a deny-all NetworkPolicy
// and owned by the UCloudJob, so it goes when the job record goes; it carries none of the labels
// the controller's caches select, so the reconciler never mistakes it for a rank.
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { podName } from '../../api/v1alpha1/names.js';
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { WORK_DIR } from '../../translate/storage-paths.js';
import { jobFolderVolume, stdoutLogName } from './job-folder.js';
import { jobIdentity, ownerReference } from './owner.js';
import { placement } from './pod-builder.js';

export const LOG_READER_CONTAINER = 'log';
export const LABEL_LOG_READER_OF = 'ucloud.dk/log-reader-of';
/** IM2's follow starts a log file this far from its end (.../k8s/containers/00_module.go). */
export const REPLAY_BYTES = 256 * 1024;
// A reader runs `tail` once; requests equal limits (its log counts against ephemeral storage).
const READER_RESOURCES = { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '64Mi' };
// A reader that cannot start (the image is gone from every node it may use) gives up.
const READER_DEADLINE_SECONDS = 600;

export const logReaderPodName = (jobName: string, rank: number): string => `${podName(jobName, rank)}-log`;
export const logReaderPolicyName = (jobName: string): string => `${jobName}-log`;

const readerLabels = (job: UCloudJob) => ({ [LABEL_LOG_READER_OF]: job.metadata.name });

/** Prints the last REPLAY_BYTES of rank r's log; nothing when the job wrote none. */
const READ_SCRIPT = `[ -f "$1" ] && tail -c ${REPLAY_BYTES} -- "$1" || true`;

export function logReaderPod(job: UCloudJob, rank: number, config: OperatorConfig): V1Pod {
  const folder = job.spec.jobFolder;
  if (!folder) throw new Error(`job ${job.spec.jobId} has no job folder to replay`);
  const uid = config.jobs.runAsUser;
  const { volume, mount } = jobFolderVolume(folder, true);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: logReaderPodName(job.metadata.name, rank),
      namespace: jobIdentity(job).namespace,
      labels: readerLabels(job),
      ownerReferences: [ownerReference(job)],
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: READER_DEADLINE_SECONDS,
      // Always the unprivileged job user: the log is readable by it (written by it, or 0644 by root).
      securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: LOG_READER_CONTAINER,
          image: job.spec.image,
          imagePullPolicy: config.jobs.imagePullPolicy,
          command: ['/bin/sh', '-c', READ_SCRIPT, 'ucloud-log', `${WORK_DIR}/${stdoutLogName(rank)}`],
          resources: { requests: { ...READER_RESOURCES }, limits: { ...READER_RESOURCES } },
          securityContext: { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          volumeMounts: [mount],
        },
      ],
      volumes: [volume],
      ...placement(job, config),
    },
  };
}

/** No traffic in or out: a reader only reads a file. */
export function logReaderPolicy(job: UCloudJob): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: logReaderPolicyName(job.metadata.name),
      namespace: jobIdentity(job).namespace,
      labels: readerLabels(job),
      ownerReferences: [ownerReference(job)],
    },
    spec: { podSelector: { matchLabels: readerLabels(job) }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] },
  };
}
