// LeaderElector against the in-memory KubePort, on Jest's fake clock: client-go's rules (acquire a
// free or expired Lease, renew, give up after the renew deadline), and the shutdown contract
// operator.ts relies on (stopCampaign waits for the round in flight; release clears the holder).
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { LeaderElector } from '../../../src/k8s/leader-election.js';
import { KubeError } from '../../../src/k8s/errors.js';
import type { Logger } from '../../../src/observability/log.js';
import { FakeKube } from '../../support/fake-kube.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };
const NS = 'ns';
const LEASE = 'leader';

function elector(kube: FakeKube, identity: string, hooks: { started?: () => Promise<void> | void; stopped?: () => void } = {}) {
  const log: string[] = [];
  const e = new LeaderElector({
    kube,
    namespace: NS,
    leaseName: LEASE,
    identity,
    leaseDurationSeconds: 4,
    renewDeadlineSeconds: 3,
    retryPeriodSeconds: 1,
    logger: quiet,
    onStartedLeading: async () => {
      log.push('started');
      await hooks.started?.();
    },
    onStoppedLeading: () => {
      log.push('stopped');
      hooks.stopped?.();
    },
  });
  return { e, log };
}

const holder = async (kube: FakeKube) => (await kube.leases.get(NS, LEASE))?.spec?.holderIdentity;

/** Candidates a and b over one apiserver; a campaigns first (and so takes the Lease), then b. */
async function twoCandidates() {
  const kube = new FakeKube();
  const a = elector(kube, 'a');
  const b = elector(kube, 'b');
  a.e.start();
  await jest.advanceTimersByTimeAsync(0);
  b.e.start();
  return { kube, a, b };
}

describe('LeaderElector', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('one of two candidates leads; the other takes over only after the lease expired by its own clock', async () => {
    const { kube, a, b } = await twoCandidates();
    await jest.advanceTimersByTimeAsync(5_000);
    expect([a.e.isLeader, b.e.isLeader, await holder(kube)]).toEqual([true, false, 'a']);
    expect(a.log).toEqual(['started']);
    expect(b.log).toEqual([]);

    // a stops renewing without releasing (as if killed): b waits out the lease duration.
    await a.e.stopCampaign();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(b.e.isLeader).toBe(false);
    await jest.advanceTimersByTimeAsync(3_000);
    expect([b.e.isLeader, await holder(kube)]).toEqual([true, 'b']);
    expect((await kube.leases.get(NS, LEASE))?.spec?.leaseTransitions).toBe(1);
    await b.e.stop();
  });

  it('release clears the holder so a standby takes over at its next retry', async () => {
    const { kube, a, b } = await twoCandidates();
    await jest.advanceTimersByTimeAsync(2_000);
    await a.e.stop();
    expect(await holder(kube)).toBeUndefined();
    expect(a.e.isLeader).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect([b.e.isLeader, await holder(kube)]).toEqual([true, 'b']);
    await b.e.stop();
  });

  it('keeps renewing during a slow start; stopCampaign waits for the start and never starts again', async () => {
    const kube = new FakeKube();
    let finishStart!: () => void;
    const a = elector(kube, 'a', { started: () => new Promise<void>((r) => (finishStart = r)) });
    a.e.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(a.log).toEqual(['started']);
    // Renewals go on while the start is slow (cache sync): the lease must not expire under it.
    const renewed = (await kube.leases.get(NS, LEASE))!.spec!.renewTime;
    await jest.advanceTimersByTimeAsync(6_000);
    expect(new Date(String((await kube.leases.get(NS, LEASE))!.spec!.renewTime)).getTime()).toBeGreaterThan(new Date(String(renewed)).getTime() + 5_000);
    let stopped = false;
    const stopping = a.e.stopCampaign().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(5_000);
    expect(stopped).toBe(false); // still inside onStartedLeading
    finishStart();
    await stopping;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(a.log).toEqual(['started']);
    // The lease is still held (duties may still be stopping) until release().
    expect(await holder(kube)).toBe('a');
    await a.e.release();
    expect(await holder(kube)).toBeUndefined();
  });

  it('gives up once renewals fail past the renew deadline, and does not campaign again', async () => {
    const kube = new FakeKube();
    const a = elector(kube, 'a');
    a.e.start();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(a.e.isLeader).toBe(true);
    kube.failNext('Lease.replace', new KubeError(503, 'ServiceUnavailable', 'apiserver down'), 100);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(a.log).toEqual(['started', 'stopped']);
    expect(a.e.isLeader).toBe(false);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(a.log).toEqual(['started', 'stopped']);
  });
});
