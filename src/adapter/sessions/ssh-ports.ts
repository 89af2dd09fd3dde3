// SSH ports (docs/adr/0020): each job that asks for SSH gets a port of its own from
// interactive.ssh.portMin..portMax, chosen when it is created and written into its spec
// (spec.sshPort), as IM2 assigns one per job from its configured range
// (provider-integration/im2/pkg/integrations/k8s/shared/ssh.go, assignSshPort: a random free port,
// "No more SSH ports available" when none is). IM2 keeps the ports in use in memory and rebuilds
// them from its jobs at start; here the UCloudJobs are the record: the ports in use are those in
// the specs of the jobs that have not ended, read from the apiserver at each allocation, so a
// restarted operator (or another replica) sees every port given out. Only jobs labelled with
// LABEL_SSH_PORT are listed (the adapter sets it with the port): a create stays one small list
// among 10,000 jobs, within Core's 5 s create timeout. Within one process, ports
// handed out but not yet in a stored UCloudJob are held back until the create call is done.
import { isFinal, LABEL_SSH_PORT, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import type { KubePort } from '../../k8s/kube-port.js';
import { ProviderError } from '../errors.js';

const PAGE = 500;

/** A free port of [min, max], starting the search at a random one (as IM2 does); undefined when all are taken. */
export function pickFreePort(min: number, max: number, taken: ReadonlySet<number>, random: () => number = Math.random): number | undefined {
  const count = max - min + 1;
  const start = Math.floor(random() * count);
  for (let i = 0; i < count; i++) {
    const port = min + ((start + i) % count);
    if (!taken.has(port)) return port;
  }
  return undefined;
}

/** The SSH ports of the jobs in this namespace that have not ended (their spec is the record). */
export async function sshPortsInUse(kube: KubePort, namespace: string): Promise<Set<number>> {
  const ports = new Set<number>();
  let cont: string | undefined;
  do {
    const page = await kube.ucloudJobs.list(namespace, { limit: PAGE, labelSelector: LABEL_SSH_PORT, ...(cont ? { continue: cont } : {}) });
    for (const item of page.items as UCloudJob[]) {
      const port = item?.spec?.sshPort;
      if (typeof port === 'number' && !isFinal(item.status?.state)) ports.add(port);
    }
    cont = page.continue;
  } while (cont);
  return ports;
}

export class SshPortAllocator {
  /** Ports handed out by this process whose UCloudJob may not be stored yet. */
  private readonly held = new Set<number>();
  /** Allocations run one at a time, so two concurrent creates never read the same free port. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: OperatorConfig,
    private readonly kube: KubePort,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * `count` distinct free ports, held until `release` (call it once the jobs are stored or the
   * create failed). A full range is the caller's 409 with the reason.
   */
  allocate(count: number): Promise<number[]> {
    const run = this.queue.then(async () => {
      const { portMin, portMax } = this.config.interactive.ssh;
      const taken = new Set([...(await sshPortsInUse(this.kube, this.config.namespace)), ...this.held]);
      const ports: number[] = [];
      for (let i = 0; i < count; i++) {
        const port = pickFreePort(portMin, portMax, taken, this.random);
        if (port === undefined) {
          throw new ProviderError(
            409,
            `no SSH port is free: all ${portMax - portMin + 1} ports of ${portMin}-${portMax} belong to running jobs; try again when one has ended`,
            'SSH_PORTS_EXHAUSTED',
          );
        }
        taken.add(port);
        ports.push(port);
      }
      for (const p of ports) this.held.add(p);
      return ports;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  release(ports: readonly number[]): void {
    for (const p of ports) this.held.delete(p);
  }
}
