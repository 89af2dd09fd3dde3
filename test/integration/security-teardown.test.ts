// security: H1 against the real kube-apiserver — while a pod of a terminated job is still
// terminating (held in deletion by a finalizer, as a kubelet holds a pod through its grace period
// and a SIGTERM-trapping process), the job's NetworkPolicy still exists; it goes once the last pod
// is gone. kwok's pod-delete stage removes a deleted pod at once, so the finalizer is what keeps
// it (the apiserver, not kwok, honours it). The packets themselves (a real CNI enforcing the
// policy during the grace period) are for the real-node tests.
import { NetworkingV1Api } from '@kubernetes/client-node';
import { configMapName, jobResourceName, networkPolicyName } from '../../src/api/v1alpha1/names.js';
import { eventually } from '../support/harness.js';
import { stackStoppedAfterEach } from '../support/stack-hooks.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, noPodsLeft, runningPods, terminate } from '../support/jobs.js';

const T = 120_000;
const HOLD = 'test.ucloud.dk/hold-in-deletion';

describe('security: H1 teardown keeps the NetworkPolicy while a pod terminates', () => {
  const startStack = stackStoppedAfterEach(T);

  it(
    'the policy exists for as long as any pod of the job does',
    async () => {
      const stack = await startStack();
      const { ns } = stack;
      const id = '13001';
      const name = jobResourceName(id);
      expect((await createJobs(stack, batchJob(id, { replicas: 2 }))).status).toBe(200);
      const pods = await runningPods(stack, id, 2);
      const net = ns.kc.makeApiClient(NetworkingV1Api);
      const policyExists = () =>
        net.readNamespacedNetworkPolicy({ name: networkPolicyName(name), namespace: ns.name }).then(
          () => true,
          () => false,
        );
      expect(await policyExists()).toBe(true);
      // Rank 1 will be held in deletion.
      const held = pods[1]!.metadata!.name!;
      const setFinalizers = async (finalizers: string[]) => {
        const pod = await ns.core.readNamespacedPod({ name: held, namespace: ns.name });
        await ns.core.replaceNamespacedPod({ name: held, namespace: ns.name, body: { ...pod, metadata: { ...pod.metadata, finalizers } } });
      };
      await setFinalizers([HOLD]);

      expect((await terminate(stack, id)).status).toBe(200);
      await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS', 'SUCCESS in the CR');
      // The teardown ran (the rank files are gone, rank 0 is gone) and rank 1 is terminating.
      await eventually(
        () =>
          ns.core.readNamespacedConfigMap({ name: configMapName(name), namespace: ns.name }).then(
            () => false,
            () => true,
          ),
        'the ConfigMap deleted by the teardown',
      );
      const terminating = await eventually(async () => {
        const p = await ns.core.readNamespacedPod({ name: held, namespace: ns.name });
        return p.metadata?.deletionTimestamp ? p : undefined;
      }, 'rank 1 terminating');
      expect(terminating.metadata?.finalizers).toEqual([HOLD]);
      // Several teardown passes later (pod events and the backstop requeue), still policed.
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        expect(await policyExists()).toBe(true);
      }

      // Released: the pod goes, and with it (only now) the policy.
      await setFinalizers([]);
      await noPodsLeft(stack, id);
      await eventually(async () => !(await policyExists()), 'the policy deleted after the last pod', 30_000);
    },
    T,
  );
});
