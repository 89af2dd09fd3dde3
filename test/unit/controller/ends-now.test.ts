// Which jobs go ahead in the work queue: a job not yet final with a rank that has ended, whose next
// reconcile decides (and reports) its end. After a restart that is the tenth of the jobs that ended
// while the operator was down, ahead of the thousands that still run (docs/performance.md, Recovery).
import type { V1Pod } from '@kubernetes/client-node';
import type { UCloudJob, UCloudJobStatus } from '../../../src/api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../../../src/api/v1alpha1/names.js';
import { endsNow, startsNow } from '../../../src/controller/controller.js';
import { job } from '../../support/job-factory.js';

const at = '2026-11-22T10:00:00.000Z';
const withState = (state: UCloudJobStatus['state']): UCloudJob => ({ ...job({}, 'uid-1'), status: { state, startedAt: at } });
const pod = (phase: string, terminated = false): V1Pod => ({
  metadata: { name: 'p' },
  status: {
    phase,
    containerStatuses: [
      {
        name: USER_CONTAINER,
        image: 'x',
        imageID: '',
        ready: !terminated,
        restartCount: 0,
        state: terminated ? { terminated: { exitCode: 0 } } : { running: {} },
      },
    ],
  },
});

describe('endsNow', () => {
  it('is true for a running job with a rank that succeeded, failed, or whose program ended', () => {
    expect(endsNow(withState('RUNNING'), [pod('Running'), pod('Succeeded')])).toBe(true);
    expect(endsNow(withState('RUNNING'), [pod('Failed')])).toBe(true);
    expect(endsNow(withState('IN_QUEUE'), [pod('Running', true)])).toBe(true);
  });

  it('is false while every rank runs, and for a job whose final state is already stored', () => {
    expect(endsNow(withState('RUNNING'), [pod('Running'), pod('Pending')])).toBe(false);
    expect(endsNow(withState('RUNNING'), [])).toBe(false);
    expect(endsNow(withState('SUCCESS'), [pod('Succeeded')])).toBe(false);
    expect(endsNow(withState('FAILURE'), [pod('Failed')])).toBe(false);
  });
});

describe('startsNow', () => {
  const notStarted = (state: UCloudJobStatus['state']): UCloudJob => ({ ...job({}, 'uid-1'), status: { state } });
  it('is true for a job not started yet with a rank whose program runs', () => {
    expect(startsNow(notStarted('IN_QUEUE'), [pod('Running')])).toBe(true);
  });
  it('is false once the job started, when it is final, and while no rank runs', () => {
    expect(startsNow(withState('RUNNING'), [pod('Running')])).toBe(false);
    expect(startsNow(notStarted('FAILURE'), [pod('Running')])).toBe(false);
    expect(startsNow(notStarted('IN_QUEUE'), [pod('Pending', true)])).toBe(false);
    expect(startsNow(notStarted('IN_QUEUE'), [])).toBe(false);
  });
});
