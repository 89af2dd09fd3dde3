// One reading of a pod for the planner, the state mapping and the peer aliases: a rank label is a
// rank only in plain decimal digits, and the user's container is the one named for it.
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_RANK } from '../../../src/api/v1alpha1/ucloudjob.js';
import { USER_CONTAINER } from '../../../src/api/v1alpha1/names.js';
import { podRank, userContainerState, userContainerStatus } from '../../../src/controller/pod-facts.js';

const withRank = (v: string | undefined): V1Pod => ({ metadata: { labels: v === undefined ? {} : { [LABEL_RANK]: v } } });

describe('pod facts', () => {
  it.each([
    ['0', 0],
    ['3', 3],
    ['12', 12],
    [undefined, undefined],
    ['', undefined],
    ['-1', undefined],
    ['1.0', undefined],
    ['1e2', undefined],
    [' 1', undefined],
    ['0x1', undefined],
  ])('rank label %p reads as %p', (label, rank) => {
    expect(podRank(withRank(label))).toBe(rank);
  });

  it('the user container is found by name, not by position', () => {
    const pod: V1Pod = {
      status: {
        containerStatuses: [
          { name: 'metrics', ready: true, restartCount: 0, image: 'm', imageID: '', state: { running: {} } },
          { name: USER_CONTAINER, ready: false, restartCount: 0, image: 'u', imageID: '', state: { terminated: { exitCode: 3 } } },
        ],
      },
    };
    expect(userContainerStatus(pod)?.name).toBe(USER_CONTAINER);
    expect(userContainerState(pod)?.terminated?.exitCode).toBe(3);
  });

  it("a pod whose only status names no container has that one; another named container is not the user's", () => {
    const unnamed: V1Pod = { status: { containerStatuses: [{ ready: true, restartCount: 0, image: 'u', imageID: '', state: { running: {} } } as never] } };
    expect(userContainerState(unnamed)?.running).toEqual({});
    const other: V1Pod = {
      status: { containerStatuses: [{ name: 'sidecar', ready: true, restartCount: 0, image: 's', imageID: '', state: { running: {} } }] },
    };
    expect(userContainerStatus(other)).toBeUndefined();
  });
});
