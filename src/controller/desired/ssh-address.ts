// Where users reach a job over SSH (docs/adr/0020): interactive.ssh.host and the job's own port
// (spec.sshPort, given at create). IM2 tells users in a status update and in the environment
// (provider-integration/im2/pkg/integrations/k8s/shared/ssh.go sshPrefix; containers/ssh_keys.go
// UCLOUD_PUBLIC_SSH); the same words here, so UCloud's UI and applications read them alike.
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';

export interface SshAddress {
  host: string;
  port: number;
}

/** The job's SSH address, when it has a port of its own and the site says where users connect. */
export function sshAddressOf(job: UCloudJob, config: OperatorConfig): SshAddress | undefined {
  const host = config.interactive.ssh.host;
  const port = job.spec.sshPort;
  return job.spec.sshEnabled && host && port !== undefined ? { host, port } : undefined;
}

/** IM2's status text: "SSH: Connected! Available at: ssh ucloud@<host> -p <port>". */
export const sshStatusText = (a: SshAddress): string => `SSH: Connected! Available at: ssh ucloud@${a.host} -p ${a.port}`;

/** UCLOUD_PUBLIC_SSH as IM2 sets it: `<host>:<port>`. */
export const publicSshAddress = (a: SshAddress): string => `${a.host}:${a.port}`;
