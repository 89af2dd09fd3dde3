// When an ended job's children go: at once while a rank runs, otherwise once Core has the final
// state or REPORT_WAIT_MS after this process first saw the job ended.
import type { V1Pod } from '@kubernetes/client-node';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../../../src/api/v1alpha1/names.js';
import { BUSY_RECHECK_MS, REPORT_WAIT_MS, teardownDelayMs } from '../../../src/controller/teardown-timing.js';
import { job } from '../../support/job-factory.js';

const T = Date.parse('2026-12-07T12:00:00Z');
const ended = (acknowledgedSeq: number, extra: Partial<NonNullable<UCloudJob['status']>> = {}): UCloudJob => ({
  ...job({ jobId: '1' }, 'uid-1'),
  status: {
    state: 'SUCCESS',
    outbox: {
      acknowledgedSeq,
      entries: [
        { seq: 1, at: new Date(T).toISOString(), state: 'RUNNING' },
        { seq: 2, at: new Date(T).toISOString(), state: 'SUCCESS' },
      ],
    },
    ...extra,
  },
});
const pod = (phase: string, terminated = false): V1Pod => ({
  metadata: { name: 'j-1-0' },
  status: {
    phase,
    containerStatuses: [
      { name: USER_CONTAINER, ready: false, restartCount: 0, image: 'x', imageID: 'x', state: terminated ? { terminated: { exitCode: 0 } } : { running: {} } },
    ],
  },
});

describe('teardownDelayMs', () => {
  it('waits for the report while every rank has ended by itself, at most REPORT_WAIT_MS from when it was seen ended', () => {
    expect(teardownDelayMs(ended(1), [pod('Succeeded', true)], T, T)).toBe(REPORT_WAIT_MS);
    expect(teardownDelayMs(ended(1), [pod('Succeeded', true)], T, T + 5000)).toBe(REPORT_WAIT_MS - 5000);
    expect(teardownDelayMs(ended(1), [pod('Succeeded', true)], T, T + REPORT_WAIT_MS)).toBe(0);
  });

  it('goes at once when Core has the final state, or has no record of the job', () => {
    expect(teardownDelayMs(ended(2), [pod('Succeeded', true)], T, T)).toBe(0);
    expect(teardownDelayMs(ended(1, { unknownToCore: { at: new Date(T).toISOString(), call: 'update', why: 'x' } }), [pod('Succeeded', true)], T, T)).toBe(0);
  });

  it('once reported, gives way to other jobs status writes in flight, looking again within a second, never past the bound', () => {
    expect(teardownDelayMs(ended(2), [pod('Succeeded', true)], T, T, 3)).toBe(BUSY_RECHECK_MS);
    expect(teardownDelayMs(ended(2), [pod('Succeeded', true)], T, T + REPORT_WAIT_MS - 10, 3)).toBe(10);
    expect(teardownDelayMs(ended(2), [pod('Succeeded', true)], T, T + REPORT_WAIT_MS, 3)).toBe(0);
    expect(teardownDelayMs(ended(2), [pod('Succeeded', true)], T, T, 0)).toBe(0);
  });

  it('goes at once while a rank still runs (expired, stopped, or another rank failed): its code must stop', () => {
    expect(teardownDelayMs(ended(1), [pod('Running')], T, T)).toBe(0);
    expect(teardownDelayMs(ended(1), [pod('Failed', true), pod('Running')], T, T)).toBe(0);
  });

  it('a rank whose container ended counts as ended before the pod phase follows', () => {
    expect(teardownDelayMs(ended(1), [pod('Running', true)], T, T)).toBe(REPORT_WAIT_MS);
  });
});
