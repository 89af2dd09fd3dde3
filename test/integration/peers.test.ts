// Peers on the real control plane (docs/adr/0006-peers.md): job B names job A as a peer
// under the hostname "db". B gets a selector-less headless Service `<B>-peers` whose
// EndpointSlices list A's rank IPs as "db", "db-0", "db-1", and its pods search that domain, so
// the bare names resolve inside B; both NetworkPolicies admit the pair. When A ends, B's aliases
// empty out instead of pointing at IPs that are no longer A's.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { networkPolicyName } from '../../src/api/v1alpha1/names.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, noPodsLeft, runningPods, terminate } from '../support/jobs.js';

const T = 120_000;

/** UCloudJob names a policy admits traffic from (ingress) and to (egress), own job included. */
function admitted(np: V1NetworkPolicy): { from: string[]; to: string[] } {
  const names = (peers: Array<{ podSelector?: { matchLabels?: Record<string, string> } }> | undefined) =>
    (peers ?? [])
      .map((p) => p.podSelector?.matchLabels?.['ucloud.dk/job'])
      .filter((n): n is string => !!n)
      .sort();
  return { from: names(np.spec?.ingress?.[0]?._from), to: names(np.spec?.egress?.[0]?.to) };
}

describe('peers', () => {
  let stack: TestStack;
  beforeEach(async () => {
    stack = await startStack();
  }, T);
  afterEach(async () => {
    await stack?.stop();
  }, T);

  it(
    'job B with peer "db" on job A: alias Service and EndpointSlices, DNS search path, both policies admit the pair',
    async () => {
      const { ns, core } = stack;
      const a = 'j-5001';
      const b = 'j-5002';
      expect((await createJobs(stack, batchJob('5001', { replicas: 2 }))).status).toBe(200);
      const aPods = await runningPods(stack, '5001', 2);
      const ips = aPods.map((p) => p.status?.podIP);
      expect(ips.every((ip) => typeof ip === 'string' && ip.length > 0)).toBe(true);

      const withPeer = batchJob('5002', { resources: [{ type: 'peer', hostname: 'db', jobId: '5001' }] });
      expect(await createJobs(stack, withPeer)).toEqual({ status: 200, body: { responses: [null] } });
      const bJob = await crWhen(stack, '5002', () => true, 'the UCloudJob of B');
      expect(bJob.spec.peers).toEqual([{ hostname: 'db', jobId: '5001' }]);

      // B's pod searches its own peer domain, so "db" and "db-1" resolve as bare names.
      const [bPod] = await runningPods(stack, '5002', 1);
      await core.waitFor(() => core.jobStates('5002').includes('RUNNING'), 60_000, 'B RUNNING at UCloud/Core');
      expect(bPod!.spec?.dnsConfig?.searches).toEqual([`${b}-peers.${ns.name}.svc.cluster.local`]);

      // The alias objects: a selector-less headless Service owned by B, and a slice naming A's ranks.
      const svc = await eventually(() => ns.kube.services.get(ns.name, `${b}-peers`), "B's peer Service");
      expect(svc.spec?.clusterIP).toBe('None');
      expect(svc.spec?.selector).toBeUndefined();
      expect(svc.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'UCloudJob', name: b, uid: bJob.metadata.uid, controller: true });
      const slice = await eventually(async () => {
        const s = await ns.kube.endpointSlices.get(ns.name, `${b}-peers-ipv4-0`);
        return s && (s.endpoints ?? []).length === 3 ? s : undefined;
      }, "B's peer EndpointSlice with A's ranks");
      expect(slice.metadata?.labels).toMatchObject({ 'kubernetes.io/service-name': `${b}-peers`, 'ucloud.dk/job': b });
      expect(slice.addressType).toBe('IPv4');
      expect(slice.endpoints?.map((e) => [e.hostname, e.addresses, e.targetRef?.name])).toEqual([
        ['db', [ips[0]], `${a}-0`],
        ['db-0', [ips[0]], `${a}-0`],
        ['db-1', [ips[1]], `${a}-1`],
      ]);

      // Both policies admit the pair, in both directions; A learned of B without naming it.
      const policies = await eventually(async () => {
        const pa = await ns.kube.networkPolicies.get(ns.name, networkPolicyName(a));
        const pb = await ns.kube.networkPolicies.get(ns.name, networkPolicyName(b));
        return pa && pb && admitted(pa).from.includes(b) ? { pa, pb } : undefined;
      }, "A's policy to admit B");
      expect(admitted(policies.pa)).toEqual({ from: [a, b].sort(), to: [a, b].sort() });
      expect(admitted(policies.pb)).toEqual({ from: [a, b].sort(), to: [a, b].sort() });

      // A ends: B's aliases no longer point at A's (freed) addresses; B runs on.
      expect((await terminate(stack, '5001')).status).toBe(200);
      await noPodsLeft(stack, '5001');
      await eventually(async () => ((await ns.kube.endpointSlices.get(ns.name, `${b}-peers-ipv4-0`))?.endpoints ?? []).length === 0, "B's aliases to empty");
      expect(core.jobStates('5002')).toEqual(['RUNNING']);

      // B ends: its peer Service and slices go with it.
      expect((await terminate(stack, '5002')).status).toBe(200);
      await noPodsLeft(stack, '5002');
      await eventually(async () => (await ns.kube.services.get(ns.name, `${b}-peers`)) === undefined, "B's peer Service to be removed");
      await eventually(
        async () => (await ns.kube.endpointSlices.list(ns.name, `ucloud.dk/job=${b}`)).items.length === 0,
        "B's peer EndpointSlices to be removed",
      );
    },
    T,
  );

  it(
    "peers created in one call: the aliases fill in once the peer's pods have addresses",
    async () => {
      const { ns } = stack;
      const b = 'j-5012';
      // B first in the call, naming A from the same call: at B's first reconcile A has no pods yet.
      const withPeer = batchJob('5012', { resources: [{ type: 'peer', hostname: 'solver', jobId: '5011' }] });
      expect((await createJobs(stack, withPeer, batchJob('5011', { replicas: 3 }))).status).toBe(200);
      const aPods = await runningPods(stack, '5011', 3);
      const slice = await eventually(async () => {
        const s = await ns.kube.endpointSlices.get(ns.name, `${b}-peers-ipv4-0`);
        return s && (s.endpoints ?? []).length === 4 ? s : undefined;
      }, "B's aliases for A's three ranks");
      expect(slice.endpoints?.map((e) => [e.hostname, e.addresses?.[0]])).toEqual([
        ['solver', aPods[0]!.status?.podIP],
        ['solver-0', aPods[0]!.status?.podIP],
        ['solver-1', aPods[1]!.status?.podIP],
        ['solver-2', aPods[2]!.status?.podIP],
      ]);
    },
    T,
  );
});
