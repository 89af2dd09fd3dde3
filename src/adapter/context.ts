// What a provider call handler gets: its dependencies and a way to name the jobs it touched in
// the access log. Handlers take the parsed JSON body and return the JSON answer, so they know
// nothing of Express.
import type { V1Node } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { DockerFeatures } from './features.js';
import type { JobQueueStatus } from './queue-status.js';
import type { JobStore } from './job-store.js';
import type { SessionDeps } from './sessions/open.js';
import type { SshInstaller } from './sessions/ssh.js';
import type { SshPortAllocator } from './sessions/ssh-ports.js';

/** Bulk work runs at most this many apiserver calls at a time. */
export const BULK_CONCURRENCY = 32;

export interface CallContext {
  config: OperatorConfig;
  kube: KubePort;
  jobs: JobStore;
  logger: Logger;
  now: () => Date;
  /** verify found jobs UCloud/Core has and this cluster does not (the reporter fails them). */
  onUnknownJobs?: (ids: string[]) => void | Promise<void>;
  /** The container features this adapter advertises and serves (features.ts). */
  features: DockerFeatures;
  /** Interactive sessions, when the adapter has a session store. */
  sessions?: SessionDeps;
  /** SSH keys and port for jobs that ask for SSH, when offered (interactive.ssh). */
  ssh?: SshInstaller;
  /** Hands each SSH job its own port (with ssh). */
  sshPorts?: SshPortAllocator;
  /** Live capacity for retrieveProducts' queueStatus (capacity.ts); absent: no queueStatus is sent. */
  capacity?: {
    queueStatuses(): Promise<ReadonlyMap<string, JobQueueStatus> | undefined>;
    /** The cluster's nodes for create's never-fits check (never-fits.ts); undefined until they are known. */
    knownNodes?(): Promise<readonly V1Node[] | undefined>;
  };
  /** A drive's title at UCloud/Core (JobsControlPort.driveTitle); absent: whole drives are named by id. */
  driveTitle?: (driveId: string) => Promise<string | undefined>;
  /** A license's product at UCloud/Core (JobsControlPort.licenseProduct); absent: license parameters stay ids. */
  licenseProduct?: (licenseId: string) => Promise<string | undefined>;
  /** Names the jobs of this call in its access log line. */
  noteJobs(ids: readonly string[]): void;
}

export type Handler = (body: unknown, ctx: CallContext) => unknown;
