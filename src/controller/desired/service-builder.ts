// The job's headless Service: it gives every rank a stable DNS name
// (<pod>.<service>.<ns>.svc.<domain>) through the pods' hostname + subdomain. Peers are named by a
// separate Service (peer-aliases.ts).
//
// No ports: a headless Service may have none (the apiserver only requires ports for Services with
// a cluster IP), the EndpointSlice controller still publishes the pods, and CoreDNS still serves
// their A records. Ports would only add SRV records nobody reads, and would tie this object to
// the web/VNC settings for no gain.
import type { V1Service } from '@kubernetes/client-node';
import { serviceName } from '../../api/v1alpha1/names.js';
import { LABEL_JOB, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { childMetadata } from './owner.js';

export function headlessService(job: UCloudJob, _config: OperatorConfig): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(job, serviceName(job.metadata.name)),
    spec: {
      clusterIP: 'None',
      // Ranks must resolve each other before every rank is ready: a gang starts all at once and
      // an MPI launcher on rank 0 looks the others up while they are still starting.
      publishNotReadyAddresses: true,
      selector: { [LABEL_JOB]: job.metadata.name },
    },
  };
}
