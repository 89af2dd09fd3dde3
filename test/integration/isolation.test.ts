// Isolation on the real control plane: a job's NetworkPolicy admits only its own pods and
// its declared peers, and job pods carry no service-account token and cannot escalate privilege.
// Job A (2 ranks), job B (1 rank) naming A as a peer, job C (1 rank) unrelated, a foreign pod in the
// jobs' namespace (not a job pod) and a pod in another namespace.
//
// kwok has no pod network (no CNI, nothing enforces a NetworkPolicy), so enforcement cannot be
// observed by sending packets. Instead the NetworkPolicies, pods and namespaces are read back from
// the apiserver, as a network plugin would see them, and evaluated with Kubernetes' NetworkPolicy
// semantics by test/support/network-policy-eval.ts, which has its own unit test against the
// documented semantics (test/unit/network-policy-eval.test.ts). Pod security is asserted on the pods
// as stored, i.e. after admission: the ServiceAccount admission plugin is on, and the foreign pod
// shows that it does inject a token volume into a pod that does not opt out.
import { CoreV1Api, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { createTestNamespace, eventually, startStack, type TestNamespace, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { cr, createJobs, runningPods } from '../support/jobs.js';
import {
  clusterView,
  connectionAllowed,
  egressAllows,
  ingressAllows,
  podEndpoint,
  type ClusterView,
  type Endpoint,
  type PodEndpoint,
  type Traffic,
} from '../support/network-policy-eval.js';

const T = 120_000;
const SA_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A plain pod, not made by the operator; the ServiceAccount admission plugin gives it a token. */
async function plainPod(core: CoreV1Api, namespace: string, name: string, labels: Record<string, string>): Promise<void> {
  await core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', 'infinity'] }] } },
  });
}

describe('isolation', () => {
  let stack: TestStack;
  let other: TestNamespace | undefined;
  beforeEach(async () => {
    stack = await startStack();
    other = await createTestNamespace();
  }, T);
  afterEach(async () => {
    await other?.delete();
    await stack?.stop();
  }, T);

  it(
    "a job's NetworkPolicy admits only its own pods and declared peers; job pods have no token and no privilege escalation",
    async () => {
      const { ns, config } = stack;
      const otherNs = other!.name;
      const [a, b, c] = ['7001', '7002', '7003'];
      const jobNames = [a, b, c].map(jobResourceName);

      // B names A as a peer ("db"); C names nobody. One call: a peer created in the same call is valid.
      const created = await createJobs(
        stack,
        batchJob(a, { replicas: 2 }),
        batchJob(b, { resources: [{ type: 'peer', hostname: 'db', jobId: a }] }),
        batchJob(c),
      );
      expect(created).toEqual({ status: 200, body: { responses: [null, null, null] } });
      // The foreign pod also wears the DNS pods' labels: only the DNS rule's namespaceSelector keeps
      // job pods from sending to it.
      await plainPod(ns.core, ns.name, 'intruder', { app: 'intruder', ...config.jobs.networkPolicy.dnsPodLabels });
      await plainPod(ns.core, otherNs, 'outsider', { app: 'outsider' });

      await runningPods(stack, a, 2);
      await runningPods(stack, b, 1);
      await runningPods(stack, c, 1);
      await eventually(async () => (await ns.core.readNamespacedPod({ name: 'intruder', namespace: ns.name })).metadata?.uid, 'the foreign pod');
      await eventually(async () => (await ns.core.readNamespacedPod({ name: 'outsider', namespace: otherNs })).metadata?.uid, "the other namespace's pod");

      // Everything from the apiserver, through a client of its own (not the operator's KubePort).
      const net = ns.kc.makeApiClient(NetworkingV1Api);
      const dnsNs = config.jobs.networkPolicy.dnsNamespace;
      const snapshot = async () => {
        const namespaces = [ns.name, otherNs, dnsNs];
        const policies = (await Promise.all(namespaces.map((n) => net.listNamespacedNetworkPolicy({ namespace: n })))).flatMap((l) => l.items);
        const nsObjects = await Promise.all(namespaces.map((n) => ns.core.readNamespace({ name: n })));
        const pods = [...(await ns.core.listNamespacedPod({ namespace: ns.name })).items, ...(await ns.core.listNamespacedPod({ namespace: otherNs })).items];
        return { view: clusterView(policies, nsObjects), pods, policies };
      };
      const byName = (pods: V1Pod[], namespace: string, name: string): V1Pod => {
        const p = pods.find((x) => x.metadata?.namespace === namespace && x.metadata?.name === name);
        if (!p) throw new Error(`pod ${namespace}/${name} not in the snapshot`);
        return p;
      };
      const rankPod = (pods: V1Pod[], id: string, rank: number) => byName(pods, ns.name, `${jobResourceName(id)}-${rank}`);

      // The reconciler adds B to A's policy after B appears: wait until A admits B (and B admits A),
      // then judge one snapshot.
      const { view, pods } = await eventually(async () => {
        const s = await snapshot();
        const a0 = podEndpoint(rankPod(s.pods, a, 0));
        const b0 = podEndpoint(rankPod(s.pods, b, 0));
        const present = jobNames.every((j) => s.policies.some((p) => p.metadata?.labels?.['ucloud.dk/job'] === j));
        return present && connectionAllowed(s.view, b0, a0, { port: 1 }) && connectionAllowed(s.view, a0, b0, { port: 1 }) ? s : undefined;
      }, 'the policies of A, B and C, with A admitting its peer B');

      const ep: Record<string, PodEndpoint> = {
        a0: podEndpoint(rankPod(pods, a, 0)),
        a1: podEndpoint(rankPod(pods, a, 1)),
        b0: podEndpoint(rankPod(pods, b, 0)),
        c0: podEndpoint(rankPod(pods, c, 0)),
        foreign: podEndpoint(byName(pods, ns.name, 'intruder')),
        outsider: podEndpoint(byName(pods, otherNs, 'outsider')),
      };
      const names = Object.keys(ep);
      const jobPods = ['a0', 'a1', 'b0', 'c0'];
      const reachable = (v: ClusterView, t: Traffic, allowed: (v: ClusterView, src: PodEndpoint, dst: PodEndpoint, t: Traffic) => boolean) =>
        Object.fromEntries(names.map((s) => [s, names.filter((d) => d !== s && allowed(v, ep[s]!, ep[d]!, t))]));

      // The full matrix, for TCP and UDP on an arbitrary port (the job rules name no ports): within A
      // yes; A <-> B both ways (B declared A; A's policy admits the jobs that name it, ADR 0006, since a
      // connection needs both policies); C reaches nothing and nothing reaches C; the foreign pod and
      // the other namespace's pod reach no job pod and no job pod reaches them. The two non-job pods
      // are selected by no policy, so they stay open to each other: the evaluator denies only what
      // the policies deny.
      const expected = { a0: ['a1', 'b0'], a1: ['a0', 'b0'], b0: ['a0', 'a1'], c0: [], foreign: ['outsider'], outsider: ['foreign'] };
      for (const t of [
        { protocol: 'TCP', port: 7777 },
        { protocol: 'UDP', port: 7777 },
        { protocol: 'TCP', port: 22 },
      ] as Traffic[]) {
        expect(reachable(view, t, connectionAllowed)).toEqual(expected);
      }

      // Each job's own policy, alone, is the fence: a job pod's ingress admits exactly its job and its
      // peers, whatever the sender's side says, and its egress lets it send to exactly those.
      const ingressOf = reachable(view, { port: 7777 }, (v, s, d, t) => ingressAllows(v, d, s, t));
      const egressOf = reachable(view, { port: 7777 }, egressAllows);
      const admittedBy = (dst: string) => names.filter((s) => ingressOf[s]!.includes(dst));
      expect(Object.fromEntries(jobPods.map((j) => [j, admittedBy(j)]))).toEqual({ a0: ['a1', 'b0'], a1: ['a0', 'b0'], b0: ['a0', 'a1'], c0: [] });
      expect(Object.fromEntries(jobPods.map((j) => [j, egressOf[j]]))).toEqual({ a0: ['a1', 'b0'], a1: ['a0', 'b0'], b0: ['a0', 'a1'], c0: [] });

      // Egress beyond the job: the builder declares cluster DNS (jobs.networkPolicy.allowDns, on by
      // default) so rank and peer hostnames resolve: UDP and TCP 53 to pods labelled as DNS pods in
      // the DNS namespace. The test control plane runs no DNS, so the DNS pod is an endpoint with the
      // configured labels in the DNS namespace as stored (its labels from the apiserver). Nothing else
      // leaves the job: not other ports of the DNS pods, not a look-alike DNS pod in the jobs'
      // namespace (the foreign pod), not the apiserver's Service address, not a metadata address.
      // The public internet is reachable from a job (jobs.networkPolicy.egress, ADR 0019), but
      // nothing on it reaches the job.
      const dns: Endpoint = { kind: 'pod', name: `${dnsNs}/dns`, namespace: dnsNs, labels: config.jobs.networkPolicy.dnsPodLabels };
      const kubernetesSvc = await ns.core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
      const internet: Endpoint = { kind: 'external', name: 'internet', ip: '1.1.1.1' };
      const outside: Endpoint[] = [
        { kind: 'external', name: 'apiserver', ip: kubernetesSvc.spec!.clusterIP! },
        { kind: 'external', name: 'metadata', ip: '169.254.169.254' },
      ];
      for (const j of jobPods) {
        const src = ep[j]!;
        expect([connectionAllowed(view, src, dns, { protocol: 'UDP', port: 53 }), connectionAllowed(view, src, dns, { protocol: 'TCP', port: 53 })]).toEqual([
          true,
          true,
        ]);
        expect(connectionAllowed(view, src, dns, { protocol: 'TCP', port: 80 })).toBe(false);
        expect(connectionAllowed(view, src, dns, { protocol: 'UDP', port: 5353 })).toBe(false);
        expect(connectionAllowed(view, src, ep.foreign!, { protocol: 'UDP', port: 53 })).toBe(false);
        for (const t of [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 443 },
        ] as Traffic[]) {
          for (const o of outside) {
            expect([o.name, t, connectionAllowed(view, src, o, t)]).toEqual([o.name, t, false]);
            expect([o.name, t, connectionAllowed(view, o, src, t)]).toEqual([o.name, t, false]);
          }
          expect([internet.name, t, connectionAllowed(view, src, internet, t), connectionAllowed(view, internet, src, t)]).toEqual([
            internet.name,
            t,
            true,
            false,
          ]);
        }
      }

      // Pod security, on every job pod as the apiserver stores it (after admission).
      const jobPodObjects = pods.filter((p) => jobNames.includes(p.metadata?.labels?.['ucloud.dk/job'] ?? ''));
      expect(jobPodObjects.map((p) => p.metadata?.name).sort()).toEqual(['j-7001-0', 'j-7001-1', 'j-7002-0', 'j-7003-0']);
      for (const id of [a, b, c]) expect((await cr(stack, id))?.spec.runAsRoot).toBe(false);
      const tokenVolumes = (p: V1Pod) =>
        (p.spec?.volumes ?? [])
          .filter((v) => v.name.startsWith('kube-api-access-') || (v.projected?.sources ?? []).some((s) => s.serviceAccountToken))
          .map((v) => v.name);
      const tokenMounts = (p: V1Pod) =>
        [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? []), ...(p.spec?.ephemeralContainers ?? [])].flatMap((ctr) =>
          (ctr.volumeMounts ?? []).filter((m) => m.mountPath.replace(/\/+$/, '').startsWith(SA_TOKEN_DIR)).map((m) => `${ctr.name}:${m.mountPath}`),
        );

      // The control: the ServiceAccount admission plugin gave the foreign pod, which did not opt out,
      // a projected token volume mounted at the well-known path. A job pod would get the same if the
      // operator did not turn automount off.
      const intruder = byName(pods, ns.name, 'intruder');
      expect(tokenVolumes(intruder)).toEqual([expect.stringMatching(/^kube-api-access-/)]);
      expect(tokenMounts(intruder)).toEqual([`main:${SA_TOKEN_DIR}`]);

      for (const p of jobPodObjects) {
        const spec = p.spec!;
        const what = p.metadata!.name!;
        expect([what, spec.automountServiceAccountToken]).toEqual([what, false]);
        expect([what, tokenVolumes(p)]).toEqual([what, []]);
        expect([what, tokenMounts(p)]).toEqual([what, []]);
        expect([what, spec.enableServiceLinks]).toEqual([what, false]);
        // A host-network pod is outside NetworkPolicy; host PID/IPC would share the node's.
        expect([what, spec.hostNetwork ?? false, spec.hostPID ?? false, spec.hostIPC ?? false]).toEqual([what, false, false, false]);
        // As the builder sets it: non-root unless the application asked for root (none of these did).
        expect([what, spec.securityContext?.runAsNonRoot, spec.securityContext?.seccompProfile?.type]).toEqual([what, true, 'RuntimeDefault']);
        const containers = [...(spec.initContainers ?? []), ...spec.containers];
        expect(containers.length).toBeGreaterThan(0);
        for (const ctr of containers) {
          const sc = ctr.securityContext;
          expect([what, ctr.name, sc?.allowPrivilegeEscalation, sc?.privileged, sc?.capabilities?.drop, sc?.capabilities?.add ?? []]).toEqual([
            what,
            ctr.name,
            false,
            false,
            ['ALL'],
            [],
          ]);
        }
      }
    },
    T,
  );
});
