// Events are a courtesy to `kubectl describe uj`: every component records them the same way, about
// the UCloudJob by its API version and kind, and a failed Event write is logged, never thrown into
// the reconcile, report or charge that wanted it.
import { API_VERSION, KIND } from '../../../src/api/v1alpha1/ucloudjob.js';
import { JobEventRecorder, jobRef } from '../../../src/controller/job-events.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { rootLogger } from '../../../src/observability/log.js';
import { FakeKube } from '../../support/fake-kube.js';
import { captureLogs } from '../../support/logs.js';

describe('JobEventRecorder', () => {
  it('records an Event regarding the UCloudJob by its API version, kind, name and uid', async () => {
    const kube = new FakeKube();
    const ref = jobRef({ metadata: { namespace: 'jobs', name: 'j-7', uid: 'u-7' } });
    await new JobEventRecorder(kube, rootLogger).record(ref, 'Warning', 'ChargeRejected', 'Charge', 'refused');
    expect(kube.events).toEqual([
      {
        namespace: 'jobs',
        regarding: { apiVersion: API_VERSION, kind: KIND, name: 'j-7', namespace: 'jobs', uid: 'u-7' },
        type: 'Warning',
        reason: 'ChargeRejected',
        action: 'Charge',
        note: 'refused',
      },
    ]);
  });

  it('a refused Event write is logged with the job and reason, and does not throw', async () => {
    const kube = new FakeKube();
    kube.failNext('Event.recordEvent', new KubeError(403, 'Forbidden', 'events is forbidden'));
    const lines = await captureLogs(() =>
      expect(
        new JobEventRecorder(kube, rootLogger).record({ namespace: 'jobs', name: 'j-8' }, 'Normal', 'Running', 'Reconcile', 'started'),
      ).resolves.toBeUndefined(),
    );
    expect(kube.events).toEqual([]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ msg: 'Could not record an Event', job: 'jobs/j-8', reason: 'Running' }),
    ]);
  });
});
