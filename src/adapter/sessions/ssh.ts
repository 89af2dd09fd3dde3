// SSH access to a job (docs/ucloud-wire.md, ssh; IM2's ssh_keys.go): when the application allows
// SSH (mode MANDATORY, or OPTIONAL and the user asked with sshEnabled), the owner's public keys are
// fetched from UCloud/Core with browseSshKeys (paginated; the control client follows `next`) and
// written, one per line, to a Secret `<job>-ssh` that every rank mounts as
// /etc/ucloud/ssh/authorized_keys.ucloud (pod-builder.ts). Rank 0's SSH port is exposed by a
// Service `<job>-ssh` of the configured type and admitted by a NetworkPolicy `<job>-ssh` from the
// configured CIDRs (the job's own policy admits only its ranks and peers; policies add up). All
// three are owned by the UCloudJob. Off unless `interactive.ssh.enabled` (Secrets need RBAC).
//
// The address (docs/adr/0020): the job's own port (spec.sshPort, ssh-ports.ts) is the Service's
// nodePort (NodePort) or port (LoadBalancer, ClusterIP), or with `expose: hostPort` rank 0's
// port on its node (pod-builder.ts) and no Service. Users are told `interactive.ssh.host` and that
// port in IM2's words (controller/desired/ssh-address.ts) and in UCLOUD_PUBLIC_SSH.
import type { V1NetworkPolicy, V1Secret, V1Service } from '@kubernetes/client-node';
import { sshObjectName } from '../../api/v1alpha1/names.js';
import { API_VERSION, KIND, LABEL_JOB, LABEL_MANAGED_BY, LABEL_RANK, MANAGED_BY, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import type { KubePort } from '../../k8s/kube-port.js';
import type { Job } from '../../ucloud/job.js';
import type { SSHKey } from '../../ucloud/control-api.js';
import type { SecretApi } from './secret-api.js';

export const AUTHORIZED_KEYS = 'authorized_keys';
export const SSH_MOUNT_PATH = 'ssh/authorized_keys.ucloud';

/** Whether UCloud asks for SSH: the application's mode decides, the user's flag only when OPTIONAL. */
export function sshWanted(job: Job): boolean {
  const mode = job.status?.resolvedApplication?.invocation?.ssh?.mode ?? 'DISABLED';
  return mode === 'MANDATORY' || (mode === 'OPTIONAL' && job.specification.sshEnabled === true);
}

/** One key per line; a key that is not a single printable line is left out (it could add lines). */
export function authorizedKeys(keys: readonly SSHKey[]): string {
  const lines: string[] = [];
  for (const k of keys) {
    const key = k.specification.key.trim();
    if (!key || /[\r\n\0]/.test(key) || !/^(ssh-|ecdsa-|sk-)[A-Za-z0-9@._-]+ [A-Za-z0-9+/=]+( .*)?$/.test(key)) continue;
    if (!lines.includes(key)) lines.push(key);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * The Service that carries the job's SSH port to rank 0, or none when the port is rank 0's host
 * port. A job stored before ports were assigned (no spec.sshPort) keeps port 22 and a nodePort
 * the cluster picks, as before.
 */
export function sshService(job: UCloudJob, config: OperatorConfig, metadata: V1Service['metadata'], selector: Record<string, string>): V1Service | undefined {
  const ssh = config.interactive.ssh;
  const port = job.spec.sshPort;
  if (ssh.expose === 'hostPort' && port !== undefined) return undefined;
  const nodePort = ssh.serviceType === 'NodePort' && port !== undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: ssh.serviceType,
      selector,
      ports: [{ name: 'ssh', protocol: 'TCP', port: nodePort ? 22 : (port ?? 22), targetPort: ssh.containerPort, ...(nodePort ? { nodePort: port } : {}) }],
    },
  };
}

export interface SshKeySource {
  browseSshKeys(jobId: string): Promise<SSHKey[]>;
}

export class SshInstaller {
  constructor(
    private readonly config: OperatorConfig,
    private readonly kube: KubePort,
    private readonly secrets: SecretApi,
    private readonly keys: SshKeySource,
  ) {}

  /** Creates the job's key Secret, Service and NetworkPolicy; ones already there are kept. */
  async install(job: UCloudJob): Promise<void> {
    const ns = job.metadata.namespace ?? this.config.namespace;
    const name = sshObjectName(job.metadata.name);
    const metadata = {
      name,
      namespace: ns,
      labels: { [LABEL_JOB]: job.metadata.name, [LABEL_MANAGED_BY]: MANAGED_BY },
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: job.metadata.name, uid: job.metadata.uid! }],
    };
    const keys = authorizedKeys(await this.keys.browseSshKeys(job.spec.jobId));
    const secret: V1Secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata, stringData: { [AUTHORIZED_KEYS]: keys } };
    await this.secrets.create(ns, secret);

    const ssh = this.config.interactive.ssh;
    const rank0 = { [LABEL_JOB]: job.metadata.name, [LABEL_RANK]: '0' };
    const service = sshService(job, this.config, metadata, rank0);
    if (service) await this.kube.services.create(ns, service);
    const policy: V1NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata,
      spec: {
        podSelector: { matchLabels: rank0 },
        policyTypes: ['Ingress'],
        // `_from` is client-node's name for `from`; its serializer writes `from`.
        ingress: [{ _from: ssh.allowFrom.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: ssh.containerPort }] }],
      },
    };
    await this.kube.networkPolicies.create(ns, policy);
  }
}
