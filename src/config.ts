// Operator configuration: a JSON file (UCLOUD_OPERATOR_CONFIG, rendered by the Helm chart) plus
// environment variables for the few things that differ per deployment or are secret. Secrets are
// read from files (mounted Secrets) or env and never logged: `describeConfig` masks them.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { templateProblem } from './translate/job-folder.js';
import { ProductPriceUnitSchema } from './ucloud/job.js';

const Toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

/**
 * The IPv4 ranges IM2 keeps jobs out of when it opens the internet to them
 * (privateNetworkCIDRBlocks in provider-integration/im2/pkg/integrations/k8s/shared/network_policy.go):
 * RFC 1918, shared (CGNAT), loopback, link-local (cloud metadata), IETF protocol assignments, the
 * documentation and benchmarking nets, multicast and reserved.
 */
export const IM2_PRIVATE_RANGES = [
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;

const QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** A PVC name with {drive} in it: one claim per UCloud drive (docs/security.md, H2). */
const PerDriveClaim = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*\{drive\}[-a-z0-9.]*|[-a-z0-9.]*\{drive\})$/, 'a PVC name with {drive} in it, e.g. "ucloud-drive-{drive}"');

/** A path template of the job folder (home or project), checked with sample values. */
const folderTemplate = (kind: 'home' | 'project', absolute: boolean) =>
  z
    .string()
    .min(1)
    .max(1024)
    .superRefine((t, ctx) => {
      const problem = templateProblem(t, kind, absolute);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/**
 * jobs.jobFolder (docs/adr/0018): each job's /work is its folder in the user's own files, as IM2's
 * FindJobFolderEx puts it (provider-integration/im2/pkg/integrations/k8s/containers/00_module.go),
 * on the site's claim (`claimName`), a claim per drive (`perDriveClaim`: the first segment of the
 * volume path is the drive), or, with neither, jobs.sharedStorage's.
 */
const JobFolderSchema = z
  .object({
    claimName: z.string().min(1).optional(),
    perDriveClaim: PerDriveClaim.optional(),
    /** The folder inside the volume; defaults are IM2's layout (DriveToLocalPath, .../k8s/filesystem/drive_locator.go). */
    volumePath: z
      .object({
        home: folderTemplate('home', false).default('home/{user}/Jobs/{appTitle}/{jobId}'),
        project: folderTemplate('project', false).default("projects/{project}/Members' Files/{user}/Jobs/{appTitle}/{jobId}"),
      })
      .prefault({}),
    /** The same folder as a UCloud path, reported as the job's outputFolder; unset: not reported. */
    ucloudPath: z.object({ home: folderTemplate('home', true), project: folderTemplate('project', true) }).optional(),
  })
  .refine((f) => !(f.claimName && f.perDriveClaim), { message: 'set at most one of claimName and perDriveClaim' });

export const ProductConfigSchema = z.object({
  id: z.string().min(1),
  category: z.string().min(1),
  cpu: z.number().int().min(1),
  memoryInGigs: z.number().int().min(1),
  gpu: z.number().int().min(0).default(0),
  unitOfPrice: ProductPriceUnitSchema.default('CREDITS_PER_MINUTE'),
});
export type ProductConfig = z.infer<typeof ProductConfigSchema>;

// A Kubernetes extended resource name (nvidia.com/gpu, nvidia.com/mig-1g.10gb, amd.com/gpu).
const RESOURCE_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const CategoryConfigSchema = z.object({
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(Toleration).default([]),
  /** CPU the node keeps for itself, in millicores (IM2's systemReservedCpuMillis; default jobs.sizing's). */
  systemReservedCpuMillis: z.number().int().min(0).max(1_000_000).optional(),
  /** The resource the category's GPUs are requested as (IM2's gpuResourceType), e.g. a MIG slice. */
  gpuResource: z.string().max(253).regex(RESOURCE_NAME, 'a Kubernetes resource name, e.g. nvidia.com/gpu').default('nvidia.com/gpu'),
  /** RuntimeClass of the category's pods (IM2's customRuntime), e.g. "nvidia". */
  runtimeClassName: z.string().max(253).regex(DNS_SUBDOMAIN, 'a RuntimeClass name').optional(),
});

export const ConfigSchema = z.object({
  providerId: z
    .string()
    .min(1)
    .regex(/^[a-zA-Z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  namespace: z.string().min(1).max(63),
  ucloud: z.object({
    coreUrl: z.url(),
    /** Provider public key as UCloud issues it (base64 DER SPKI) or PEM. */
    publicKey: z.string().min(1),
    refreshToken: z.string().min(1),
    /** Where UCloud's web interface is, for integration/connect's redirect (default: coreUrl). */
    publicUrl: z.url().optional(),
    jwtIssuer: z.string().default('cloud.sdu.dk'),
    /** Audience core2 puts in its tokens (core2/pkg/foundation/auth_providers.go); a token with another aud is refused. */
    jwtAudience: z.string().min(1).default('all:write'),
    clockToleranceSeconds: z.number().int().min(0).max(600).default(30),
  }),
  http: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(8080),
      probePort: z.number().int().min(0).max(65535).default(8081),
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .default(32 * 1024 * 1024),
    })
    .prefault({}),
  products: z.array(ProductConfigSchema).min(1),
  categories: z.record(z.string(), CategoryConfigSchema).default({}),
  /**
   * License servers by license product id (IM2's license database, controller/license_database.go):
   * a job's license parameter becomes `address:port/license` (LicenseBuildParameter). The key is
   * handed to the job as IM2 hands it, so it is in the job's command and its UCloudJob.
   */
  licenses: z
    .array(
      z.object({
        product: z.string().min(1).max(256),
        address: z.string().min(1).max(253).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        license: z.string().min(1).max(4096).optional(),
      }),
    )
    .default([]),
  /** Label used to put a product category on matching nodes, as UCloud's backends do. */
  machineLabel: z.string().default('ucloud.dk/machine'),
  useMachineSelector: z.boolean().default(true),
  jobs: z
    .object({
      /** exit-code: non-zero exit, OOM, eviction => FAILURE (UCloud since 2026). scheduler-only: only provider faults are FAILURE (legacy). */
      failureRule: z.enum(['exit-code', 'scheduler-only']).default('exit-code'),
      /** first: the job ends when its first rank ends and the others are stopped (IM2); all: it runs until every rank has ended (docs/adr/0021). */
      rankEndRule: z.enum(['first', 'all']).default('first'),
      clusterDomain: z.string().default('cluster.local'),
      /** Legacy switch: true means rootApps `root-no-capabilities` when rootApps is not set. */
      allowRunAsRoot: z.boolean().default(false),
      /**
       * How an application that asks for root (`container.runAsRoot`, which core2 sets on every
       * application) runs (docs/adr/0017): `non-root` as jobs.runAsUser, hardened (Pod Security
       * `restricted`); `root-no-capabilities` as the image's user, root allowed, no capabilities,
       * no privilege escalation; `im2` as IM2 runs it: the image's user, privilege escalation and
       * the runtime's default capabilities (sudo, apt). The last two need Pod Security `baseline`.
       * Unset: `root-no-capabilities` with allowRunAsRoot, else `non-root`.
       */
      rootApps: z.enum(['non-root', 'root-no-capabilities', 'im2']).optional(),
      /** The user (and group, and fsGroup) of every job that does not run as root: UCloud's files
       *  are owned by 11042 (docs/adr/0016, the user rule). */
      runAsUser: z.number().int().min(1).default(11042),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      /**
       * How a product becomes a pod's resources (docs/adr/0023). Defaults are IM2's: memory in GB
       * (10^9 bytes), and a CPU request that leaves the node `systemReservedCpuMillis` so a
       * product as large as the node still fits. `GiB` with 0 is this operator's earlier rule.
       */
      sizing: z
        .object({
          memoryUnit: z.enum(['GB', 'GiB']).default('GB'),
          systemReservedCpuMillis: z.number().int().min(0).max(1_000_000).default(500),
          /** Refuse at create a job whose ranks no node of its category could ever hold, even
           *  empty (never-fits.ts). Off for a cluster whose autoscaler adds larger nodes on demand. */
          refuseWhatNeverFits: z.boolean().default(true),
        })
        .prefault({}),
      /**
       * All-or-nothing admission of a job's ranks and the queue in front of it (docs/adr/0025).
       * `auto`: Kubernetes' native gang scheduling (scheduling.k8s.io/v1alpha2 PodGroup) when the
       * apiserver serves it, else none; `none`: each rank's pod is scheduled on its own (before 0025);
       * `kueue`: a Kueue Workload per job, its pods created once Kueue admits it (never chosen by `auto`).
       */
      gang: z
        .object({
          backend: z.enum(['auto', 'native', 'kueue', 'none']).default('auto'),
          /** With a gang backend: once a job of a product category cannot be placed, later jobs of
           *  that category wait behind it (their pods are not created) until it is placed. With
           *  `kueue` the order is Kueue's (its ClusterQueue's queueingStrategy). */
          fifo: z.boolean().default(true),
          /** With backend kueue: which LocalQueue (in the jobs' namespace) a job's Workload goes to. */
          kueue: z
            .object({
              /** Every job's LocalQueue, unless projectQueueName applies. */
              queueName: z.string().max(253).regex(DNS_SUBDOMAIN, 'a LocalQueue name').default('ucloud'),
              /** For jobs in a UCloud project: this, with `{project}` replaced by the project id (e.g. `project-{project}`). */
              projectQueueName: z
                .string()
                .regex(
                  /^[a-z0-9][-a-z0-9.]*\{project\}[-a-z0-9.]*$|^\{project\}[-a-z0-9.]*$/,
                  'a LocalQueue name with {project} in it, e.g. "project-{project}"',
                )
                .max(200)
                .optional(),
            })
            .prefault({}),
        })
        .prefault({}),
      /** With backend none: all ranks must run within this of the job's creation, else FAILURE.
       *  With a gang backend: within this of the gang being placed (waiting for room never fails). */
      gangTimeoutSeconds: z.number().int().min(1).default(300),
      /** With backend none: an unschedulable rank fails the job after this. Not used with a gang backend. */
      unschedulableGraceSeconds: z.number().int().min(1).default(300),
      imagePullGraceSeconds: z.number().int().min(1).default(120),
      vanishedPodGraceSeconds: z.number().int().min(0).default(30),
      /** Final jobs' pods are deleted; the UCloudJob itself (which holds command and env) is kept this long, then deleted, with the session Secrets it owns (0 = keep). */
      retainFinishedSeconds: z
        .number()
        .int()
        .min(0)
        .default(7 * 86_400),
      workVolume: z
        .discriminatedUnion('type', [
          z.object({ type: z.literal('emptyDir'), sizeLimit: z.string().optional() }),
          z.object({
            type: z.literal('pvc'),
            claimName: z.string().min(1),
            subPathPrefix: z.string().default('jobs'),
            /** Where <subPathPrefix> appears in UCloud, if users can see it: each job's /work is then
             *  reported to UCloud/Core as its outputFolder, `<ucloudPath>/<job>`. */
            ucloudPath: z.string().regex(/^\/./, 'an absolute UCloud path').optional(),
          }),
        ])
        .default({ type: 'emptyDir' }),
      /**
       * Software modules (IM2's compute.modules, containers/modules.go): volumes an application
       * lists in its modules section get mounted read-only at `<its mountPath>/<name>`, and
       * UCLOUD_MODULES_ROOT names that folder. PVCs only: Pod Security's baseline and restricted
       * levels refuse IM2's hostPath alternative.
       */
      modules: z
        .array(
          z.object({
            name: z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9._+]{0,127}$/, 'letters, digits, "-", ".", "_" and "+" (a folder name)'),
            claimName: z.string().max(253).regex(DNS_SUBDOMAIN, 'a PVC name'),
            subPath: z
              .string()
              .max(4096)
              .regex(/^(?!\/)(?!.*(^|\/)\.{1,2}(\/|$))(?!.*\/\/)[^\\\p{Cc}]+$/u, 'a relative path without ".", "..", empty segments or control characters')
              .optional(),
          }),
        )
        .default([]),
      /** Scratch disk of a rank (writable layer, logs, emptyDir /work): requests = limits; per product id, else `default`. */
      ephemeralStorage: z
        .object({
          default: z.string().regex(QUANTITY, 'a Kubernetes quantity').default('20Gi'),
          perProduct: z.record(z.string(), z.string().regex(QUANTITY, 'a Kubernetes quantity')).default({}),
        })
        .prefault({}),
      /**
       * The site's shared filesystem holding users' UCloud files. `claimName`: one PVC holding
       * every drive, mounted by subPath; the kubelet confines a subPath's symlinks only to the
       * volume, i.e. to everyone's files (docs/security.md). `perDriveClaim`: a PVC per drive
       * (`{drive}` = the first segment of the UCloud path), so a symlink can never leave the
       * user's drive. One of the two.
       */
      sharedStorage: z
        .object({
          claimName: z.string().min(1).optional(),
          perDriveClaim: PerDriveClaim.optional(),
        })
        .refine((s) => !!s.claimName !== !!s.perDriveClaim, { message: 'set exactly one of claimName and perDriveClaim' })
        .optional(),
      /** Unset: /work is jobs.workVolume, as before. */
      jobFolder: JobFolderSchema.optional(),
      networkPolicy: z
        .object({
          allowDns: z.boolean().default(true),
          dnsNamespace: z.string().default('kube-system'),
          dnsPodLabels: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }),
          /** DNS servers that are not pods of dnsNamespace (NodeLocal DNSCache's link-local address,
           *  a resolver on the nodes): CIDRs the jobs may reach on port 53 only. */
          dnsIpBlocks: z.array(z.cidrv4().or(z.cidrv6())).default([]),
          /**
           * Traffic to outside the cluster (docs/adr/0019). `internet`: any IPv4 address except
           * `except` (IM2's private, link-local, loopback and reserved ranges) and `extraExcept`
           * (the site's own public addresses: apiserver, nodes, load balancers); `none`: nothing.
           */
          egress: z
            .object({
              allow: z.enum(['internet', 'none']).default('internet'),
              except: z.array(z.cidrv4()).default([...IM2_PRIVATE_RANGES]),
              extraExcept: z.array(z.cidrv4()).default([]),
            })
            .prefault({}),
        })
        .prefault({}),
      podLabels: z.record(z.string(), z.string()).default({}),
      podAnnotations: z.record(z.string(), z.string()).default({}),
      /**
       * Renders v2 (jinja) applications' templates inside each job pod, in an init container
       * (docs/adr/0012): the operator's own image and its render-invocation entry point. Without
       * an image, jinja applications are refused. The chart sets the chart's own image.
       */
      invocationRenderer: z
        .object({
          image: z.string().min(1).optional(),
          command: z.array(z.string().min(1)).min(1).default(['/nodejs/bin/node', '/app/dist/src/render-invocation/main.js']),
          imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
        })
        .prefault({}),
    })
    .superRefine((jobs, ctx) => {
      if (!jobs.jobFolder) return;
      if (jobs.workVolume.type !== 'emptyDir') {
        ctx.addIssue({ code: 'custom', path: ['jobFolder'], message: 'jobs.jobFolder and a pvc jobs.workVolume both define /work: set one' });
      }
      if (!jobs.jobFolder.claimName && !jobs.jobFolder.perDriveClaim && !jobs.sharedStorage) {
        ctx.addIssue({ code: 'custom', path: ['jobFolder'], message: 'jobs.jobFolder needs claimName, perDriveClaim or jobs.sharedStorage' });
      }
    })
    .prefault({})
    .refine((j) => !(j.allowRunAsRoot && j.rootApps === 'non-root'), {
      message: 'jobs.allowRunAsRoot contradicts jobs.rootApps "non-root": set only jobs.rootApps',
      path: ['rootApps'],
    }),
  accounting: z
    .object({
      enabled: z.boolean().default(true),
      intervalSeconds: z.number().int().min(1).default(60),
      /** Length of one price minute (hours and days scale with it); only tests and demos shorten it. */
      minuteMillis: z.number().int().min(1).default(60_000),
      /** A running job's window is charged this long after it closes, when the caches have caught up with a job that ended just before (docs/adr/0005). */
      settleSeconds: z.number().min(0).max(300).default(5),
      /** A running job's charge watermark is written to its status at most this often; in between it is kept in memory (docs/adr/0005). */
      persistEverySeconds: z.number().int().min(0).default(600),
      checkCreditsBeforeStart: z.boolean().default(false),
    })
    .prefault({}),
  /** Log follow and interactive sessions (docs/adr/0007-interactive-features.md). */
  interactive: z
    .object({
      /**
       * Terminals (SHELL sessions): off unless the operator may create Secrets (one per session)
       * and pods/exec in the jobs namespace; while off, terminal is neither advertised nor served.
       */
      terminals: z.boolean().default(false),
      /** A session identifier from interactiveSession is usable this long after it was issued (and once). */
      sessionTtlSeconds: z.number().int().min(10).max(86_400).default(300),
      /** How often the leader deletes expired session Secrets (terminal and web) of jobs that still run (L13). */
      sessionSweepSeconds: z.number().min(0.1).max(86_400).default(60),
      /** Terminal sockets: back-pressure both ways and limits on sockets that have not initialised. */
      terminal: z
        .object({
          /** The exec (or the browser) is paused while more than this waits to be sent to the other side. */
          highWaterBytes: z
            .number()
            .int()
            .min(16 * 1024)
            .max(16 * 1024 * 1024)
            .default(256 * 1024),
          /** A terminal with more than this queued for a peer that does not read is closed. */
          maxBufferedBytes: z
            .number()
            .int()
            .min(64 * 1024)
            .max(64 * 1024 * 1024)
            .default(4 * 1024 * 1024),
          /** A socket must send a valid initialize within this. */
          initTimeoutSeconds: z.number().min(0.1).max(60).default(5),
          /** Sockets not yet initialised, in total and from one client address. */
          maxPending: z.number().int().min(1).default(256),
          maxPendingPerClient: z.number().int().min(1).default(8),
        })
        .prefault({}),
      /** How often follow looks for a rank's pod that has not started and checks whether the job ended. */
      followPollSeconds: z.number().min(0.05).max(60).default(2),
      /**
       * Utilization charts on follow (docs/adr/0027): rank 0's CPU, memory and network from its
       * kubelet's Summary API, polled only while someone follows the job. Needs RBAC nodes/stats
       * (get) and nodes (get), and kubelets with webhook authentication and authorization whose
       * serving certificates the cluster CA (or kubeletCaFile) signs.
       */
      utilization: z
        .object({
          enabled: z.boolean().default(true),
          /** How often a followed job's node is polled (the kubelet itself refreshes its stats about every 10 s). */
          intervalSeconds: z.number().min(1).max(300).default(5),
          /** PEM bundle that signs the kubelets' serving certificates (default: the cluster CA). */
          kubeletCaFile: z.string().min(1).optional(),
          /** At most this many nodes are polled at once; followers beyond it get no charts. */
          maxNodes: z.number().int().min(1).max(100_000).default(1000),
        })
        .prefault({}),
      /** Back-pressure: log reading pauses while more than this waits to be sent on a follow socket. */
      followBufferBytes: z
        .number()
        .int()
        .min(16 * 1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
      /**
       * WEB and VNC sessions through an Ingress per job rank. The Ingress does no authentication
       * itself: `annotations` must put the site's auth in front of it (docs/adr/0007).
       */
      web: z
        .object({
          enabled: z.boolean().default(false),
          /** Host of a rank's web interface: {jobId} (DNS-safe), {job} (resource name), {rank}. */
          domainPattern: z.string().min(1).default('app-{jobId}-{rank}.apps.example.org'),
          vncDomainPattern: z.string().min(1).default('vnc-{jobId}-{rank}.apps.example.org'),
          scheme: z.enum(['https', 'http']).default('https'),
          ingressClassName: z.string().min(1).optional(),
          annotations: z.record(z.string(), z.string()).default({}),
          tlsSecretName: z.string().min(1).optional(),
          /** Namespace of the ingress controller, admitted to the jobs' web and VNC ports. */
          ingressNamespace: z.string().min(1).default('ingress-nginx'),
          /**
           * Per-session authentication (docs/security.md): the Ingress asks `verifyUrl` (this
           * adapter's `/ucloud/<providerId>/web-auth`, as the ingress controller reaches it) about
           * every request; the browser's session secret is exchanged there for a host-only cookie.
           * Required when web is enabled.
           */
          auth: z
            .object({
              verifyUrl: z.url().optional(),
              /** Which controller's annotations to write: ingress-nginx's auth-url, or none (the site's `annotations` call verifyUrl). */
              controller: z.enum(['ingress-nginx', 'custom']).default('ingress-nginx'),
              /** A web or VNC session (and its cookie) is valid this long, and only while its job runs. */
              sessionTtlSeconds: z
                .number()
                .int()
                .min(60)
                .max(7 * 86_400)
                .default(12 * 3600),
            })
            .prefault({}),
        })
        .prefault({})
        .refine((w) => !w.enabled || !!w.auth.verifyUrl, {
          message:
            'interactive.web.enabled needs interactive.web.auth.verifyUrl: without per-session authentication anyone who knows a job id reaches its web interface',
          path: ['auth', 'verifyUrl'],
        }),
      /** SSH access for applications that allow it (needs Secrets RBAC): keys from browseSshKeys. */
      ssh: z
        .object({
          enabled: z.boolean().default(false),
          /** How rank 0's SSH port is exposed: a Service of this type (port 22). */
          serviceType: z.enum(['NodePort', 'LoadBalancer', 'ClusterIP']).default('NodePort'),
          /** The port sshd listens on in the user container. */
          containerPort: z.number().int().min(1).max(65535).default(22),
          /** Source CIDRs admitted to that port (a NetworkPolicy of the job). */
          allowFrom: z.array(z.string().min(1)).default(['0.0.0.0/0']),
          /**
           * The address users connect to (IM2's ssh.hostname, else ssh.ipAddress): it goes into the
           * status text "SSH: Connected! Available at: ssh ucloud@<host> -p <port>" and
           * UCLOUD_PUBLIC_SSH. Required when enabled.
           */
          host: z
            .string()
            .min(1)
            .max(253)
            .regex(/^[A-Za-z0-9.:-]+$/, 'a hostname or IP address')
            .optional(),
          /** Each SSH job gets its own port from portMin..portMax (inclusive), chosen at create and kept in the job's spec. */
          portMin: z.number().int().min(1).max(65535).default(30000),
          portMax: z.number().int().min(1).max(65535).default(32767),
          /**
           * How the port reaches rank 0: `service` (a Service of serviceType: NodePort with
           * nodePort = the port, LoadBalancer with port = the port), or `hostPort` (rank 0's
           * container port published on its node's port, for clusters without a service proxy;
           * `host` must then lead to the node rank 0 runs on).
           */
          expose: z.enum(['service', 'hostPort']).default('service'),
        })
        .prefault({})
        .refine((s) => !s.enabled || !!s.host, {
          message: 'interactive.ssh.enabled needs interactive.ssh.host: the address users are told to connect to',
          path: ['host'],
        })
        .refine((s) => s.portMin <= s.portMax, { message: 'interactive.ssh.portMin must not be above portMax', path: ['portMax'] }),
    })
    .prefault({}),
  reporting: z
    .object({
      batchWindowMs: z.number().int().min(0).default(50),
      /** How far the window may widen while updates arrive faster than one per batchWindowMs (the latency budget). */
      maxBatchDelayMs: z.number().int().min(0).max(5000).default(700),
      maxItemsPerCall: z.number().int().min(1).max(1000).default(1000),
      retryAttempts: z.number().int().min(1).default(5),
    })
    .prefault({}),
  reconciler: z
    .object({
      workers: z.number().int().min(1).max(64).default(16),
      resyncSeconds: z.number().int().min(0).default(300),
    })
    .prefault({}),
  leaderElection: z
    .object({
      enabled: z.boolean().default(false),
      leaseName: z.string().default('ucloud-operator-leader'),
      leaseDurationSeconds: z.number().int().min(2).default(15),
      renewDeadlineSeconds: z.number().int().min(1).default(10),
      retryPeriodSeconds: z.number().int().min(1).default(2),
      identity: z.string().optional(),
    })
    .prefault({}),
});
export type OperatorConfig = z.infer<typeof ConfigSchema>;

export type RootProfile = NonNullable<OperatorConfig['jobs']['rootApps']>;

/** jobs.rootApps, or what the legacy jobs.allowRunAsRoot meant when it is unset (docs/adr/0017). */
export function rootProfile(config: OperatorConfig): RootProfile {
  return config.jobs.rootApps ?? (config.jobs.allowRunAsRoot ? 'root-no-capabilities' : 'non-root');
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function readSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').trim();
  return env[name];
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Environment variables that override the file, and where they go. */
export const ENV_OVERRIDES: ReadonlyArray<[env: string, path: string[], kind: 'string' | 'int' | 'bool' | 'secret']> = [
  ['UCLOUD_PROVIDER_ID', ['providerId'], 'string'],
  ['UCLOUD_OPERATOR_NAMESPACE', ['namespace'], 'string'],
  ['UCLOUD_CORE_URL', ['ucloud', 'coreUrl'], 'string'],
  ['UCLOUD_PUBLIC_KEY', ['ucloud', 'publicKey'], 'secret'],
  ['UCLOUD_REFRESH_TOKEN', ['ucloud', 'refreshToken'], 'secret'],
  ['HTTP_PORT', ['http', 'port'], 'int'],
  ['PROBE_PORT', ['http', 'probePort'], 'int'],
  ['LEADER_ELECTION', ['leaderElection', 'enabled'], 'bool'],
  ['POD_NAME', ['leaderElection', 'identity'], 'string'],
];

/** Builds and validates the configuration; every problem is listed in one ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  let raw: Record<string, unknown> = {};
  const file = env.UCLOUD_OPERATOR_CONFIG;
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(e as Error).message}`);
    }
  }
  for (const [name, path, kind] of ENV_OVERRIDES) {
    const value = kind === 'secret' ? readSecret(env, name) : env[name];
    if (value === undefined || value === '') continue;
    if (kind === 'int') {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got "${value}"`);
      setPath(raw, path, n);
    } else if (kind === 'bool') {
      setPath(raw, path, value === 'true' || value === '1');
    } else setPath(raw, path, value);
  }
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): OperatorConfig {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  return result.data;
}

/** The configuration with secrets masked, for the start-up log line. */
export function describeConfig(cfg: OperatorConfig): unknown {
  return {
    ...cfg,
    ucloud: { ...cfg.ucloud, publicKey: '[set]', refreshToken: '[set]' },
    licenses: cfg.licenses.map((l) => (l.license === undefined ? l : { ...l, license: '[set]' })),
  };
}
