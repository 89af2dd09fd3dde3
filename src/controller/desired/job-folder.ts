// What a job folder (spec.jobFolder, docs/adr/0018) adds to each rank's pod: /work from the
// folder's claim and subPath, JobParameters.json for rank 0 from the job's ConfigMap, and a
// wrapper that tees the user's output into /work/stdout-<rank>.log while the pod log keeps it.
// IM2 runs `exec <command> &> /work/stdout-$UCLOUD_RANK.log` from a script it writes into the job
// folder (provider-integration/im2/pkg/integrations/k8s/containers/invocation.go) and writes
// JobParameters.json from its own process (.../containers/job_builder.go); here the operator never
// touches user storage: the pod does both.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { configMapName } from '../../api/v1alpha1/names.js';
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import { WORK_DIR } from '../../translate/storage-paths.js';

export const JOB_PARAMETERS_KEY = 'JobParameters.json';
/** Where rank 0 finds the file to copy (core2 and IM2 refuse user mounts under /opt/ucloud). */
export const JOB_PARAMETERS_DIR = '/opt/ucloud/job-parameters';
const JOB_PARAMETERS_VOLUME = 'job-parameters';
/** argv[0] of the wrapper script: what `ps` shows for it. */
const WRAPPER_NAME = 'ucloud-job';

/** The name of rank r's log in the job folder (IM2's, which UCloud's web client opens). */
export const stdoutLogName = (rank: number | string): string => `stdout-${rank}.log`;

/**
 * Runs "$@" (the user's argv, untouched: never re-quoted or re-parsed) with stdout and stderr
 * through a FIFO into tee, which appends to /work/stdout-$UCLOUD_RANK.log and writes the pod log.
 * The exit status is the user's command's (wait on its pid, not the pipeline's last member), and
 * SIGTERM/SIGINT are passed on to it, since this shell is PID 1 and would otherwise ignore them.
 * tee is waited for at most 10 s: a daemon the command left behind holding the pipe open must not
 * keep the container from ending. No FIFO possible: the command runs unlogged rather than not at all.
 * POSIX sh only (busybox ash, dash, bash).
 */
export const LOG_WRAPPER = `params=${JOB_PARAMETERS_DIR}/${JOB_PARAMETERS_KEY}
if [ -f "$params" ]; then cp "$params" ${WORK_DIR}/${JOB_PARAMETERS_KEY}; fi
log="${WORK_DIR}/stdout-$UCLOUD_RANK.log"
fifo="/dev/shm/.ucloud-stdout-$$"
rm -f "$fifo"
if ! mkfifo "$fifo"; then exec "$@"; fi
tee -a "$log" < "$fifo" &
tee_pid=$!
"$@" > "$fifo" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM
trap 'kill -INT "$pid" 2>/dev/null' INT
wait "$pid"
status=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; status=$?; done
( sleep 10; kill "$tee_pid" ) > /dev/null 2>&1 &
watchdog=$!
wait "$tee_pid"
kill "$watchdog" 2>/dev/null
rm -f "$fifo"
exit "$status"
`;

/** The container command: the user's argv behind the wrapper when the job has a folder. */
export function loggedCommand(job: UCloudJob, command: readonly string[]): string[] {
  if (!job.spec.jobFolder) return [...command];
  return ['/bin/sh', '-c', LOG_WRAPPER, WRAPPER_NAME, ...command];
}

/** The ConfigMap key a job with a folder and parameters adds (none otherwise). */
export function jobParametersFiles(job: UCloudJob): Record<string, string> {
  return job.spec.jobFolder && job.spec.jobParameters !== undefined ? { [JOB_PARAMETERS_KEY]: job.spec.jobParameters } : {};
}

/** The volume and mount of /work from the job folder: the folder's claim at its subPath. */
export function jobFolderVolume(folder: NonNullable<UCloudJob['spec']['jobFolder']>, readOnly = false): { volume: V1Volume; mount: V1VolumeMount } {
  return {
    volume: { name: 'work', persistentVolumeClaim: { claimName: folder.claimName, ...(readOnly ? { readOnly } : {}) } },
    mount: { name: 'work', mountPath: WORK_DIR, subPath: folder.subPath, ...(readOnly ? { readOnly } : {}) },
  };
}

/** Rank 0 reads JobParameters.json from the ConfigMap (IM2 writes it for rank 0 only). */
export function jobParametersVolume(job: UCloudJob, rank: number): { volume: V1Volume; mount: V1VolumeMount } | undefined {
  if (rank !== 0 || !Object.keys(jobParametersFiles(job)).length) return undefined;
  return {
    volume: {
      name: JOB_PARAMETERS_VOLUME,
      configMap: { name: configMapName(job.metadata.name), items: [{ key: JOB_PARAMETERS_KEY, path: JOB_PARAMETERS_KEY }] },
    },
    mount: { name: JOB_PARAMETERS_VOLUME, mountPath: JOB_PARAMETERS_DIR, readOnly: true },
  };
}
