// The UCloudJob custom resource: the one durable record of a UCloud job on this cluster.
// Spec is written by the adapter (from UCloud/Core's calls) and is everything needed to rebuild
// the job's Kubernetes objects; status is written by the reconciler and is everything needed to
// report on it (including what UCloud/Core has already acknowledged). The CRD's OpenAPI schema is
// generated from these zod schemas (scripts/gen-crd.ts) and a test fails if crds/ drifts.
import { z } from 'zod';

export const GROUP = 'ucloud.dk';
export const VERSION = 'v1alpha1';
export const KIND = 'UCloudJob';
export const PLURAL = 'ucloudjobs';
export const SINGULAR = 'ucloudjob';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** JobParameters.json rides in the job's ConfigMap (1 MiB in all) next to a jinja template and values. */
export const JOB_PARAMETERS_MAX = 192 * 1024;

const d = <T extends z.ZodType>(s: T, description: string): T => s.describe(description) as T;

export const UCloudJobStateSchema = z
  .enum(['IN_QUEUE', 'RUNNING', 'SUCCESS', 'FAILURE', 'EXPIRED'])
  .describe('UCloud JobState as this provider reports it. CANCELING and SUSPENDED are never used for container jobs.');
export type UCloudJobState = z.infer<typeof UCloudJobStateSchema>;

export const FINAL_STATES: ReadonlySet<UCloudJobState> = new Set(['SUCCESS', 'FAILURE', 'EXPIRED']);
export const isFinal = (s: UCloudJobState | undefined): boolean => s !== undefined && FINAL_STATES.has(s);

export const EnvVarSchema = z.object({
  name: d(z.string().min(1).max(256), 'Environment variable name.'),
  value: d(z.string().max(65536), 'Environment variable value, rendered from the application environment.'),
});

export const MountSchema = z.object({
  name: d(z.string().min(1).max(253), 'Volume mount name (unique within the job).'),
  ucloudPath: d(z.string().max(4096), 'The UCloud path as the user selected it.'),
  subPath: d(z.string().max(4096), 'Path relative to the root of the shared storage PVC (never absolute, never contains "..").'),
  mountPath: d(z.string().min(1).max(4096), 'Where the path appears inside every rank.'),
  readOnly: d(z.boolean(), 'Mounted read-only.'),
});
export type Mount = z.infer<typeof MountSchema>;

export const PeerSchema = z.object({
  hostname: d(z.string().min(1).max(63), 'Hostname under which the peer job is reachable (rank 0; rank r is <hostname>-<r>).'),
  jobId: d(z.string().min(1).max(256), 'UCloud id of the peer job.'),
});
export type Peer = z.infer<typeof PeerSchema>;

export const UCloudJobSpecSchema = z.object({
  jobId: d(z.string().min(1).max(256), 'UCloud job id (globally unique in UCloud).'),
  owner: d(
    z.object({
      createdBy: d(z.string().min(1).max(256), 'UCloud username of the job creator.'),
      project: d(z.string().max(256).optional(), 'UCloud project (workspace) the job runs in, if any.'),
    }),
    'Who owns the job in UCloud.',
  ),
  application: d(
    z.object({
      name: d(z.string().min(1).max(256), 'Application name.'),
      version: d(z.string().min(1).max(256), 'Application version.'),
    }),
    'The UCloud application the job runs.',
  ),
  product: d(
    z.object({
      id: d(z.string().min(1).max(256), 'Product (machine type) id.'),
      category: d(z.string().min(1).max(256), 'Product category id.'),
      provider: d(z.string().min(1).max(256), 'Provider id.'),
      cpu: d(z.number().int().min(0), 'vCPUs per rank.'),
      memoryInGigs: d(z.number().int().min(0), 'Memory per rank in GiB.'),
      gpu: d(z.number().int().min(0), 'GPUs per rank (nvidia.com/gpu).'),
      unitOfPrice: d(z.string().max(64), 'UCloud ProductPriceUnit; decides the accounting period length when accountingFrequency is absent.'),
      accountingFrequency: d(
        z.enum(['ONCE', 'PERIODIC_MINUTE', 'PERIODIC_HOUR', 'PERIODIC_DAY']).optional(),
        "The product category's accountingFrequency as UCloud/Core sent it: the period that charged periods count (ONCE: one charge).",
      ),
    }),
    'The resolved product: what every rank is given and how it is charged.',
  ),
  replicas: d(z.number().int().min(1).max(1000), 'Number of ranks (one pod per rank).'),
  image: d(z.string().min(1).max(1024), 'Container image of the resolved tool.'),
  command: d(
    z.array(z.string().max(65536)).min(1).max(10000),
    'The rendered invocation, one argv word per item (for a jinja invocation: the script its init container renders).',
  ),
  env: d(z.array(EnvVarSchema).max(1000), 'Environment rendered from the application environment section.'),
  invocationTemplate: d(
    z
      .object({
        template: d(z.string().max(256 * 1024), 'The Jinja template, workflow job templates appended (user text: rendered only inside the job pods).'),
        values: d(z.string().max(512 * 1024), 'JSON: the parameter values as the template sees them (IM2 parameter file), ucloud.rank 0.'),
      })
      .optional(),
    'Set for v2 (jinja) applications: each rank renders this in an init container and runs the result (command is then the script path).',
  ),
  openedFile: d(
    z.string().min(1).max(4096).optional(),
    'Where the file the job was opened with appears in every rank (UCLOUD_OPEN_WITH_FILE); /dev/null when neither it nor its folder is mounted (as IM2).',
  ),
  metricsSampleInterval: d(z.string().max(64).optional(), "UCLOUD_METRICS_SAMPLE_INTERVAL: the job's ucMetricSampleRate parameter (absent: 0ms)."),
  initScript: d(
    z.string().min(1).max(4096).optional(),
    "The job's ucloud.dk/init-script label: a script in the container that bash runs before the program (user text: run only inside the job's pods).",
  ),
  modules: d(
    z
      .object({
        root: d(z.string().min(1).max(4096), "The application's modules folder (UCLOUD_MODULES_ROOT)."),
        mounts: d(
          z
            .array(
              z.object({
                name: d(z.string().min(1).max(128), 'Module name: mounted read-only at <root>/<name>.'),
                claimName: d(z.string().min(1).max(253), 'PVC holding the module (jobs.modules).'),
                subPath: d(z.string().max(4096).optional(), 'Folder of the module in that PVC.'),
              }),
            )
            .max(1000),
          'The modules the application lists that the site provides.',
        ),
      })
      .optional(),
    "Software modules of the application's modules section, resolved against jobs.modules when the job was created.",
  ),
  workingDir: d(z.string().max(4096).optional(), 'Working directory of the user container (/work when the application asks for it).'),
  runAsRoot: d(z.boolean(), 'Run as root: the application may, and the operator permits it (jobs.rootApps); otherwise runAsNonRoot.'),
  timeAllocationMillis: d(
    z.number().int().min(0).optional(),
    'Wall-time allocation in milliseconds, counted from when all ranks run. Absent: no limit. extend raises it.',
  ),
  mounts: d(z.array(MountSchema).max(1000), 'Folders and files from the shared storage mounted into every rank.'),
  jobFolder: d(
    z
      .object({
        claimName: d(z.string().min(1).max(253), 'The PVC holding the folder (the site claim, or the per-drive claim of the user drive).'),
        subPath: d(z.string().min(1).max(4096), 'The folder relative to the claim root (never absolute, never contains "..").'),
        ucloudPath: d(z.string().max(4096).optional(), 'The folder as a UCloud path: the outputFolder reported to UCloud/Core.'),
      })
      .optional(),
    'Set when the site has jobs.jobFolder: every rank mounts this folder at /work and logs to /work/stdout-<rank>.log (docs/adr/0018). Absent: /work is jobs.workVolume.',
  ),
  jobParameters: d(
    z.string().max(JOB_PARAMETERS_MAX).optional(),
    'JSON: status.jobParametersJson as UCloud/Core sent it, written to the job folder as JobParameters.json (only with a job folder).',
  ),
  peers: d(z.array(PeerSchema).max(1000), 'Other jobs this job may talk to, with the hostnames they get here.'),
  webPort: d(z.number().int().min(1).max(65535).optional(), 'Port of the application web interface, if any.'),
  vncPort: d(z.number().int().min(1).max(65535).optional(), 'Port of the application VNC server, if any.'),
  sshEnabled: d(z.boolean(), 'The user asked for SSH access.'),
  sshPort: d(
    z.number().int().min(1).max(65535).optional(),
    'The SSH port users connect to (interactive.ssh.host), chosen at create from interactive.ssh.portMin..portMax; no two running jobs share one.',
  ),
  restartOnExit: d(z.boolean(), 'The user asked for a restart on exit (rejected by this provider; kept for the record).'),
  terminationRequestedAt: d(z.string().max(64).optional(), 'Set (RFC 3339) when UCloud/Core asked to terminate the job; the reconciler then stops every rank.'),
  ucloudCreatedAt: d(z.number().int().optional(), 'When UCloud created the job (epoch ms).'),
});
export type UCloudJobSpec = z.infer<typeof UCloudJobSpecSchema>;

export const ConditionSchema = z.object({
  type: d(
    z.string().min(1).max(316),
    'Condition type: Running (all ranks run), Finished (final state; reason says which), Reported (UCloud/Core has every update), ChildrenCreated (False while the apiserver refuses a pod or child), InvalidSpec (the object cannot be acted on), KnownToCore (False: UCloud/Core has no such job).',
  ),
  status: d(z.enum(['True', 'False', 'Unknown']), 'True, False or Unknown.'),
  observedGeneration: d(z.number().int().min(0).optional(), 'metadata.generation the condition was computed from.'),
  lastTransitionTime: d(z.iso.datetime({ offset: true }).max(64), 'When status last changed (RFC 3339).'),
  reason: d(z.string().min(1).max(1024), 'One CamelCase word saying why.'),
  message: d(z.string().max(32768), 'Human-readable detail.'),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const OutboxEntrySchema = z.object({
  seq: d(z.number().int().min(1), 'Sequence number, increasing per job.'),
  at: d(z.string().max(64), 'When the reconciler decided this update (RFC 3339).'),
  state: d(UCloudJobStateSchema.optional(), 'New JobState, if this update changes it.'),
  status: d(z.string().max(4096).optional(), 'Status text shown to the user.'),
  newTimeAllocation: d(z.number().int().min(0).optional(), 'New time allocation in ms (after extend).'),
  outputFolder: d(z.string().max(4096).optional(), 'UCloud path of the job output folder.'),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

export const UCloudJobStatusSchema = z.object({
  observedGeneration: d(z.number().int().min(0).optional(), 'metadata.generation last reconciled.'),
  state: d(UCloudJobStateSchema.optional(), 'Current UCloud JobState decided by the reconciler.'),
  message: d(z.string().max(4096).optional(), 'Why the job is in its state, in words.'),
  ranks: d(z.string().max(32).optional(), 'Ranks running / ranks desired, e.g. "2/3".'),
  readyReplicas: d(z.number().int().min(0).optional(), 'Ranks whose pod is Running.'),
  startedAt: d(z.string().max(64).optional(), 'When every rank first ran (RFC 3339): the start of billing and of the time allocation.'),
  expiresAt: d(z.string().max(64).optional(), 'startedAt + time allocation (RFC 3339); kept after the job ends (the record).'),
  runsUntil: d(
    z.string().max(64).optional(),
    'expiresAt while the job can still expire, absent once it has ended: what `kubectl get uj -o wide` shows under EXPIRES.',
  ),
  finishedAt: d(z.string().max(64).optional(), 'When the job reached a final state (RFC 3339): the end of billing.'),
  insufficientFunds: d(z.boolean().optional(), 'UCloud/Core said the owner has no credits left; the job is being stopped.'),
  unknownToCore: d(
    z.object({
      at: d(z.string().max(64), 'When the operator learnt it (RFC 3339).'),
      call: d(z.string().max(64), 'The JobsControl call UCloud/Core refused for this job (update, chargeCredits).'),
      why: d(z.string().max(1024), "UCloud/Core's answer to that call."),
    }),
    'UCloud/Core has no such job (it refused every call naming it, and JobsControl.retrieve answers 403/404), e.g. it gave up on the create after its 5 s timeout and deleted the job. The job is stopped; nothing more is reported or charged for it.',
  ).optional(),
  reportedTimeAllocationMillis: d(z.number().int().min(0).optional(), 'Time allocation last queued for UCloud/Core (detects extend).'),
  outbox: d(
    z.object({
      acknowledgedSeq: d(z.number().int().min(0), 'Highest update sequence UCloud/Core acknowledged.'),
      entries: d(z.array(OutboxEntrySchema).max(64), 'Updates decided but maybe not yet acknowledged, oldest first.'),
    }),
    'Durable queue of JobUpdates for UCloud/Core: survives operator restarts and Core outages.',
  ).optional(),
  accounting: d(
    z.object({
      chargedPeriods: d(z.number().int().min(0), 'Periods UCloud/Core has acknowledged charges for.'),
      lastChargeId: d(z.string().max(512).optional(), 'chargeId of the last acknowledged charge.'),
      chargedAt: d(z.string().max(64).optional(), 'When the last charge was acknowledged (RFC 3339).'),
    }),
    'Accounting watermark: what has been charged so far.',
  ).optional(),
  conditions: d(z.array(ConditionSchema).max(32), 'Latest observations of the job.').optional(),
});
export type UCloudJobStatus = z.infer<typeof UCloudJobStatusSchema>;

/**
 * Outbox entries UCloud/Core has not acknowledged. `ackedInMemory`: an acknowledgement already
 * recorded but not yet seen in this copy of the status (the reporter's).
 */
export function unacknowledged(status: UCloudJobStatus | undefined, ackedInMemory = 0): OutboxEntry[] {
  const box = status?.outbox;
  if (!box) return [];
  const acked = Math.max(box.acknowledgedSeq, ackedInMemory);
  return box.entries.filter((e) => e.seq > acked);
}

/** An ownerReference as the operator writes it on the objects it owns (and reads back). */
export const OwnerReferenceSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

export const ObjectMetaSchema = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

export const UCloudJobSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: ObjectMetaSchema,
  spec: UCloudJobSpecSchema,
  status: UCloudJobStatusSchema.optional(),
});
export type UCloudJob = z.infer<typeof UCloudJobSchema>;

// --- Labels and names ------------------------------------------------------------------------
export const LABEL_JOB = 'ucloud.dk/job';
export const LABEL_JOB_ID = 'ucloud.dk/job-id';
export const LABEL_RANK = 'ucloud.dk/rank';
/** On a UCloudJob with an SSH port: the port again, so the ports in use are listed by label, not by reading every job. */
export const LABEL_SSH_PORT = 'ucloud.dk/ssh-port';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ucloud-operator';
export const ANNOTATION_JOB_ID = 'ucloud.dk/job-id';
