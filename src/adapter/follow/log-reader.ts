// Creates a finished job's log reader for one rank (controller/desired/log-reader.ts): its
// deny-all NetworkPolicy first, so the reader is never unfenced by our doing, then the pod. Both
// are idempotent (an existing one is kept: the saved log does not change once the job ended).
import type { UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { logReaderPod, logReaderPolicy } from '../../controller/desired/log-reader.js';
import type { KubePort } from '../../k8s/kube-port.js';

export async function ensureLogReader(kube: KubePort, job: UCloudJob, rank: number, config: OperatorConfig): Promise<void> {
  const ns = job.metadata.namespace ?? config.namespace;
  await kube.networkPolicies.create(ns, logReaderPolicy(job));
  await kube.pods.create(ns, logReaderPod(job, rank, config));
}
