// One pod per rank. Security is deny-by-default: no service-account token, no service links, no
// privilege escalation, all capabilities dropped, RuntimeDefault seccomp, non-root unless the
// application asked for root and the site's jobs.rootApps allows it (root-profile.ts: only the
// `im2` profile gives a root job privilege escalation and the runtime's default capabilities).
// Memory and GPUs: requests equal limits (UCloud's backends do the same), so a product is a
// guarantee, not a hint; the CPU request leaves the node IM2's system reserve (sizing.ts,
// docs/adr/0023).
//
// The user rule (docs/adr/0016): a non-root job runs as jobs.runAsUser (11042, the owner of UCloud's
// files: IM2's DefaultUid, provider-integration/im2/pkg/integrations/k8s/filesystem/00_module.go)
// whatever the image's own USER is. runAsNonRoot alone (IM2's choice,
// provider-integration/im2/pkg/integrations/k8s/containers/job_builder.go) makes the
// kubelet refuse every image whose USER is root or a name with CreateContainerConfigError, and an
// image's own numeric user could not write the user's 11042-owned files anyway. fsGroup makes the
// volumes the kubelet manages (emptyDir, PVCs that support ownership) group-writable by it, which
// is also what makes a PVC subPath /work writable: the kubelet creates that directory with the
// volume root's mode, and the root is then setgid 11042 and group-writable.
import type { V1Container, V1EnvVar, V1Pod, V1PodSecurityContext, V1Toleration, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { configMapName, interactiveHost, jobIdLabelValue, podName, serviceName, sshObjectName } from '../../api/v1alpha1/names.js';
import { ANNOTATION_JOB_ID, LABEL_RANK, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import { rootProfile, type OperatorConfig } from '../../config.js';
import { WORK_DIR } from '../../translate/storage-paths.js';
import { invocationInit } from './invocation-init.js';
import { jobFolderVolume, jobParametersFiles, jobParametersVolume, loggedCommand } from './job-folder.js';
import { childMetadata } from './owner.js';
import { peerSearchDomain } from './peer-aliases.js';
import { containerSecurityContext } from './root-profile.js';
import { ETC_UCLOUD, RANK_FILE, rankFiles } from './rank-files.js';
import { publicSshAddress, sshAddressOf } from './ssh-address.js';
import { memoryQuantity, productResources } from './sizing.js';
import { USER_CONTAINER } from '../../api/v1alpha1/names.js';

/** jobs.ephemeralStorage: the product's own quantity, else the default. */
export function ephemeralStorageOf(productId: string, config: OperatorConfig): string {
  const e = config.jobs.ephemeralStorage;
  return e.perProduct[productId] ?? e.default;
}

/** A UCloud path's drive (its first segment) and the path inside the drive. */
export function driveOf(subPath: string): { drive: string; rest: string } {
  const slash = subPath.indexOf('/');
  return slash < 0 ? { drive: subPath, rest: '' } : { drive: subPath.slice(0, slash), rest: subPath.slice(slash + 1) };
}

function volumes(job: UCloudJob, config: OperatorConfig): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const { spec } = job;
  const vols: V1Volume[] = [
    {
      name: 'ucloud-etc',
      projected: {
        sources: [
          // A jinja job's ConfigMap also holds its template and values (the init container's), a
          // job folder's its JobParameters.json: /etc/ucloud lists the rank files only.
          {
            configMap: {
              name: configMapName(job.metadata.name),
              ...(spec.invocationTemplate || Object.keys(jobParametersFiles(job)).length
                ? { items: Object.keys(rankFiles(job, config)).map((key) => ({ key, path: key })) }
                : {}),
            },
          },
          { downwardAPI: { items: [{ path: RANK_FILE, fieldRef: { fieldPath: `metadata.labels['${LABEL_RANK}']` } }] } },
          // The owner's SSH keys (adapter/sessions/ssh.ts writes the Secret when SSH is offered).
          ...(spec.sshEnabled
            ? [{ secret: { name: sshObjectName(job.metadata.name), items: [{ key: 'authorized_keys', path: 'ssh/authorized_keys.ucloud', mode: 0o444 }] } }]
            : []),
        ],
      },
    },
  ];
  const mounts: V1VolumeMount[] = [{ name: 'ucloud-etc', mountPath: ETC_UCLOUD, readOnly: true }];

  const work = config.jobs.workVolume;
  if (spec.jobFolder) {
    // The user's own job folder (docs/adr/0018). The kubelet creates a missing subPath with the
    // volume root's mode; fsGroup makes that group-writable by the job's user (ADR 0016).
    const { volume, mount } = jobFolderVolume(spec.jobFolder);
    vols.push(volume);
    mounts.push(mount);
  } else if (work.type === 'pvc') {
    vols.push({ name: 'work', persistentVolumeClaim: { claimName: work.claimName } });
    // The label value, not the raw id: it is path-safe (hashed when the id is not).
    mounts.push({ name: 'work', mountPath: WORK_DIR, subPath: `${work.subPathPrefix}/${jobIdLabelValue(spec.jobId)}` });
  } else {
    vols.push({ name: 'work', emptyDir: { sizeLimit: work.sizeLimit ?? ephemeralStorageOf(spec.product.id, config) } });
    mounts.push({ name: 'work', mountPath: WORK_DIR });
  }

  // Shared memory counts against the pod's memory limit, so sizing it to the product cannot
  // overcommit the node; without it /dev/shm is the runtime's 64 MiB, too small for NCCL or MPI.
  const memory = spec.product.memoryInGigs;
  vols.push({ name: 'dshm', emptyDir: { medium: 'Memory', ...(memory > 0 ? { sizeLimit: memoryQuantity(memory, config) } : {}) } });
  mounts.push({ name: 'dshm', mountPath: '/dev/shm' });

  // Software modules (IM2's containers/modules.go): one read-only volume per claim, each module
  // at <root>/<name>.
  const modules = spec.modules?.mounts ?? [];
  const moduleClaims = [...new Set(modules.map((m) => m.claimName))];
  moduleClaims.forEach((claimName, i) => vols.push({ name: `module-${i}`, persistentVolumeClaim: { claimName, readOnly: true } }));
  for (const m of modules) {
    mounts.push({
      name: `module-${moduleClaims.indexOf(m.claimName)}`,
      mountPath: `${spec.modules!.root}/${m.name}`,
      readOnly: true,
      ...(m.subPath ? { subPath: m.subPath } : {}),
    });
  }

  if (spec.mounts.length) {
    // The adapter refuses file mounts without shared storage; getting here means the operator's
    // configuration changed under a stored job, and running it without the user's files would
    // be worse than not running it.
    const shared = config.jobs.sharedStorage;
    if (!shared) throw new Error(`job ${spec.jobId} mounts files but no jobs.sharedStorage is configured`);
    if (shared.perDriveClaim) {
      // One volume per drive: the kubelet refuses a subPath that resolves (through symlinks)
      // outside its volume, so the user's drive is the boundary, not everyone's storage.
      const drives = [...new Set(spec.mounts.map((m) => driveOf(m.subPath).drive))].sort();
      drives.forEach((drive, i) => vols.push({ name: `drive-${i}`, persistentVolumeClaim: { claimName: shared.perDriveClaim!.replace('{drive}', drive) } }));
      for (const m of spec.mounts) {
        const { drive, rest } = driveOf(m.subPath);
        mounts.push({ name: `drive-${drives.indexOf(drive)}`, mountPath: m.mountPath, ...(rest ? { subPath: rest } : {}), readOnly: m.readOnly });
      }
    } else {
      vols.push({ name: 'shared-storage', persistentVolumeClaim: { claimName: shared.claimName! } });
      for (const m of spec.mounts) mounts.push({ name: 'shared-storage', mountPath: m.mountPath, subPath: m.subPath, readOnly: m.readOnly });
    }
  }
  return { volumes: vols, mounts };
}

/**
 * The kubelet expands `$(NAME)` in command, args and env values, and reads `$$` as `$`: every `$`
 * of user text is doubled, so what the process gets is exactly what the user wrote.
 */
export const escapeKubeletExpansion = (text: string): string => text.replaceAll('$', '$$$$');

/**
 * The ucloud.dk/init-script label, as IM2's job script runs it (containers/invocation.go): `bash
 * <script>` first, whatever it exits with, then `exec` of the program. The script path and the
 * argv stay arguments of the shell ($0, "$@"), never part of the script text, so neither is
 * re-parsed; like IM2's, the image needs bash for it.
 */
export function withInitScript(command: readonly string[], initScript: string | undefined): string[] {
  return initScript === undefined ? [...command] : ['/bin/sh', '-c', 'bash "$0"; exec "$@"', initScript, ...command];
}

/** The NVIDIA container runtime reads these from the environment (devices, capabilities, driver
 *  mounts): a user who sets them could reach GPUs or driver files the product does not include. */
export const isNvidiaEnv = (name: string): boolean => name.toUpperCase().startsWith('NVIDIA_');

/**
 * The variables IM2 gives every rank (containers/invocation.go prepareInvocationOnJobCreate, and
 * UCLOUD_URL_IS_PUBLIC in job_builder.go), in its order. Not here: UCLOUD_PUBLIC_IP (public IP
 * resources) and UCLOUD_INFERENCE_SERVER* (api_server resources), whose resources this provider
 * refuses, so it would always be unset. UCLOUD_BASE_URL: IM2 sets it for every job, to a public
 * link's domain or else the rank's generated web domain; here only for jobs with a web interface
 * on a site that publishes them (interactive.web), the only ones where the address leads
 * anywhere. Public links (ingress resources) are refused, so UCLOUD_URL_IS_PUBLIC is "false".
 */
export function ucloudEnv(job: UCloudJob, rank: number, config: OperatorConfig): V1EnvVar[] {
  const { spec } = job;
  const web = config.interactive.web;
  const baseUrl = web.enabled && spec.webPort !== undefined ? `${web.scheme}://${interactiveHost(web.domainPattern, job, rank)}` : undefined;
  return [
    { name: 'UCLOUD_METRICS_SAMPLE_INTERVAL', value: spec.metricsSampleInterval ?? '0ms' },
    ...(spec.openedFile ? [{ name: 'UCLOUD_OPEN_WITH_FILE', value: spec.openedFile }] : []),
    { name: 'UCLOUD_JOB_ID', value: spec.jobId },
    { name: 'UCLOUD_TASK_COUNT', value: String(spec.replicas) },
    { name: 'VC_JOB_NUM', value: String(spec.replicas) },
    // The Volcano-era names some UCloud applications still read.
    { name: 'VK_TASK_INDEX', value: String(rank) },
    { name: 'VC_TASK_INDEX', value: String(rank) },
    { name: 'UCLOUD_RANK', value: String(rank) },
    ...(baseUrl
      ? [
          { name: 'BASE_URL', value: baseUrl },
          { name: 'UCLOUD_BASE_URL', value: baseUrl },
        ]
      : []),
    { name: 'UCLOUD_URL_IS_PUBLIC', value: 'false' },
    ...(spec.modules ? [{ name: 'UCLOUD_MODULES_ROOT', value: spec.modules.root }] : []),
  ];
}

function env(job: UCloudJob, rank: number, config: OperatorConfig): V1EnvVar[] {
  const ssh = sshAddressOf(job, config);
  const ours = [
    ...ucloudEnv(job, rank, config),
    // Where users reach the job over SSH (IM2: containers/ssh_keys.go), on every rank.
    ...(ssh ? [{ name: 'UCLOUD_PUBLIC_SSH', value: publicSshAddress(ssh) }] : []),
  ].map((e) => ({ name: e.name, value: escapeKubeletExpansion(e.value!) }));
  // The operator's value of a name wins (IM2's later entry does): an application's own value for
  // these would be a lie.
  const reserved = new Set(ours.map((e) => e.name));
  return [
    ...job.spec.env.filter((e) => !reserved.has(e.name) && !isNvidiaEnv(e.name)).map((e) => ({ name: e.name, value: escapeKubeletExpansion(e.value) })),
    ...ours,
    // Without GPUs in the product, no GPU is visible, whatever the node's runtime defaults to.
    ...(job.spec.product.gpu > 0 ? [] : [{ name: 'NVIDIA_VISIBLE_DEVICES', value: 'void' }]),
  ];
}

export function placement(job: UCloudJob, config: OperatorConfig): { nodeSelector?: Record<string, string>; tolerations?: V1Toleration[] } {
  const category = job.spec.product.category;
  const site = config.categories[category];
  const nodeSelector = {
    ...(config.useMachineSelector ? { [config.machineLabel]: category } : {}),
    ...(site?.nodeSelector ?? {}),
  };
  const tolerations = (site?.tolerations ?? []).map((t) => ({ ...t }));
  return {
    ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
    ...(tolerations.length ? { tolerations } : {}),
  };
}

/** The site's placement with Kueue's admission added: the admission's labels win, tolerations add up. */
function withAdmission(site: ReturnType<typeof placement>, admitted: PodOptions['admitted']): ReturnType<typeof placement> {
  if (!admitted) return site;
  const nodeSelector = { ...site.nodeSelector, ...admitted.nodeSelector };
  const tolerations = [...(site.tolerations ?? []), ...admitted.tolerations];
  return {
    ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
    ...(tolerations.length ? { tolerations } : {}),
  };
}

function podSecurityContext(runAsRoot: boolean, uid: number): V1PodSecurityContext {
  const seccompProfile = { type: 'RuntimeDefault' };
  // OnRootMismatch: a large shared claim is not walked on every start once its root is right.
  const group = { fsGroup: uid, fsGroupChangePolicy: 'OnRootMismatch' };
  if (runAsRoot) return { runAsNonRoot: false, ...group, seccompProfile };
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, ...group, seccompProfile };
}

export interface PodOptions {
  /** The job's PodGroup (native gang backend, docs/adr/0025): the pod's spec.schedulingGroup. */
  podGroup?: string;
  /** What Kueue's admission adds (kueue gang backend): its flavors' nodeSelector and tolerations. */
  admitted?: { nodeSelector: Record<string, string>; tolerations: V1Toleration[] };
}

export function buildPod(job: UCloudJob, rank: number, config: OperatorConfig, opts: PodOptions = {}): V1Pod {
  const { spec } = job;
  if (!Number.isInteger(rank) || rank < 0 || rank >= spec.replicas) {
    throw new RangeError(`rank ${rank} is outside 0..${spec.replicas - 1} of job ${spec.jobId}`);
  }
  const name = podName(job.metadata.name, rank);
  const { volumes: vols, mounts } = volumes(job, config);
  const jinja = invocationInit(job, rank, config);
  if (jinja) {
    vols.push(...jinja.volumes);
    mounts.push(...jinja.userMounts);
  }
  const parameters = jobParametersVolume(job, rank);
  if (parameters) {
    vols.push(parameters.volume);
    mounts.push(parameters.mount);
  }
  // IM2's sizing (sizing.ts); a zero in the product means "not part of this product".
  const { requests, limits } = productResources(spec.product, config);
  // Bounded scratch space: the container's writable layer, logs and emptyDirs count against it,
  // so one job cannot fill the node's disk and get other tenants evicted.
  requests['ephemeral-storage'] = limits['ephemeral-storage'] = ephemeralStorageOf(spec.product.id, config);
  const runtimeClassName = config.categories[spec.product.category]?.runtimeClassName;

  const container: V1Container = {
    name: USER_CONTAINER,
    image: spec.image,
    imagePullPolicy: config.jobs.imagePullPolicy,
    // argv as rendered, no shell (unless an init script runs first): the invocation was escaped
    // for exactly this. With a job folder the argv follows a fixed wrapper script as its
    // positional parameters, still unquoted; the init script runs inside it, so its output is logged too.
    command: loggedCommand(job, withInitScript(spec.command, spec.initScript)).map(escapeKubeletExpansion),
    env: env(job, rank, config),
    ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
    resources: { requests, limits },
    securityContext: containerSecurityContext(spec.runAsRoot, rootProfile(config)),
    volumeMounts: mounts,
  };
  // interactive.ssh.expose hostPort: the job's SSH port is rank 0's port on its node (ADR 0020).
  const ssh = config.interactive.ssh;
  if (rank === 0 && ssh.expose === 'hostPort' && spec.sshEnabled && spec.sshPort !== undefined) {
    container.ports = [{ name: 'ssh', containerPort: ssh.containerPort, hostPort: spec.sshPort, protocol: 'TCP' }];
  }

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...childMetadata(job, name, config.jobs.podLabels, { [LABEL_RANK]: String(rank) }),
      annotations: { ...config.jobs.podAnnotations, [ANNOTATION_JOB_ID]: spec.jobId },
    },
    spec: {
      // hostname + subdomain = the headless Service's per-rank DNS name, the one in node-<r>.txt.
      hostname: name,
      subdomain: serviceName(job.metadata.name),
      ...(spec.peers.length ? { dnsConfig: { searches: [peerSearchDomain(job, config)] } } : {}),
      restartPolicy: 'Never',
      // Immutable on a pod, and the gang plugin keeps the pod out of the scheduling queue until its
      // PodGroup exists, so the reconciler creates the PodGroup first.
      ...(opts.podGroup ? { schedulingGroup: { podGroupName: opts.podGroup } } : {}),
      // IM2's customRuntime per machine group (containers/job_builder.go), e.g. the NVIDIA runtime.
      ...(runtimeClassName ? { runtimeClassName } : {}),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurityContext(spec.runAsRoot, config.jobs.runAsUser),
      ...(jinja ? { initContainers: jinja.initContainers } : {}),
      containers: [container],
      volumes: vols,
      ...withAdmission(placement(job, config), opts.admitted),
    },
  };
}

export function buildPods(job: UCloudJob, config: OperatorConfig, opts: PodOptions = {}): V1Pod[] {
  return Array.from({ length: job.spec.replicas }, (_, r) => buildPod(job, r, config, opts));
}
