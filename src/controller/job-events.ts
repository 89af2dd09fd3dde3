// One way to tell `kubectl describe uj` what happened to a job: a Kubernetes Event regarding the
// UCloudJob. An Event is a courtesy to the reader, never part of the job's record (the CR's
// status is), so a failure to write one is logged and otherwise ignored: it must not fail a
// reconcile, a report or a charge.
import { API_VERSION, KIND } from '../api/v1alpha1/ucloudjob.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';

/** Which UCloudJob an Event is about. */
export interface JobRef {
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';
/** The component's verb, as Events' `action` (what the operator was doing when it happened). */
export type EventAction = 'Reconcile' | 'Report' | 'Charge';

export class JobEventRecorder {
  constructor(
    private readonly kube: Pick<KubePort, 'recordEvent'>,
    private readonly logger: Logger,
  ) {}

  async record(job: JobRef, type: EventType, reason: string, action: EventAction, note: string): Promise<void> {
    try {
      await this.kube.recordEvent({
        namespace: job.namespace,
        regarding: { apiVersion: API_VERSION, kind: KIND, name: job.name, namespace: job.namespace, ...(job.uid ? { uid: job.uid } : {}) },
        type,
        reason,
        action,
        note,
      });
    } catch (e) {
      this.logger.warn('Could not record an Event', { job: `${job.namespace}/${job.name}`, reason, err: e });
    }
  }
}

/** The reference of a UCloudJob as stored (namespace and uid from its metadata). */
export function jobRef(job: { metadata: { namespace?: string; name: string; uid?: string } }, fallbackNamespace = ''): JobRef {
  return { namespace: job.metadata.namespace ?? fallbackNamespace, name: job.metadata.name, ...(job.metadata.uid ? { uid: job.metadata.uid } : {}) };
}
