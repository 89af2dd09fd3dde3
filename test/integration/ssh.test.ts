// SSH keys: a job whose application allows SSH and whose user asked for it, on the real
// control plane. The owner's keys come from the UCloud/Core emulator's browseSshKeys, more than one
// page of them (250 a page), and end up in the job's Secret, which every rank mounts; rank 0's SSH
// port gets a NodePort Service on the job's own port and a NetworkPolicy admitting it; once it runs,
// UCloud/Core is told the address in IM2's words. All are removed with the job.
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, noPodsLeft, runningPods, terminate } from '../support/jobs.js';
import { eventually } from '../support/harness.js';

const JOB_ID = '8301';

describe('SSH keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ interactive: { ssh: { enabled: true, host: 'ssh.example.org', portMin: 30100, portMax: 30199 } } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it("installs every page of the owner's keys as authorized_keys, mounted by every rank; exposes rank 0", async () => {
    const keys = Array.from({ length: 260 }, (_, i) => ({
      id: `k${i}`,
      owner: 'user',
      createdAt: i,
      fingerprint: `fp${i}`,
      specification: { title: `key ${i}`, key: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${i} key-${i}` },
    }));
    stack.core.setSshKeys(JOB_ID, keys);
    const job = batchJob(JOB_ID, { replicas: 2 }) as any;
    job.specification.sshEnabled = true;
    job.status.resolvedApplication.invocation.ssh = { mode: 'OPTIONAL' };
    expect((await createJobs(stack, job)).status).toBe(200);

    const core = stack.ns.kc.makeApiClient(CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: `j-${JOB_ID}-ssh`, namespace: stack.ns.name });
    const lines = Buffer.from(secret.data!.authorized_keys!, 'base64').toString('utf8').split('\n');
    expect(lines).toEqual([...keys.map((k) => k.specification.key), '']);
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'UCloudJob', name: `j-${JOB_ID}` });

    const svc = await core.readNamespacedService({ name: `j-${JOB_ID}-ssh`, namespace: stack.ns.name });
    expect(svc.spec?.type).toBe('NodePort');
    expect(svc.spec?.selector).toEqual({ 'ucloud.dk/job': `j-${JOB_ID}`, 'ucloud.dk/rank': '0' });
    const port = (await stack.ns.kube.ucloudJobs.get(stack.ns.name, `j-${JOB_ID}`))!.spec.sshPort!;
    expect(port).toBeGreaterThanOrEqual(30100);
    expect(port).toBeLessThanOrEqual(30199);
    expect(svc.spec?.ports?.[0]).toMatchObject({ port: 22, targetPort: 22, nodePort: port });
    const policy = await stack.ns.kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ name: `j-${JOB_ID}-ssh`, namespace: stack.ns.name });
    expect(policy.spec?.ingress?.[0]?._from).toEqual([{ ipBlock: { cidr: '0.0.0.0/0' } }]);

    const pods = await runningPods(stack, JOB_ID, 2);
    for (const pod of pods) {
      const etc = pod.spec?.volumes?.find((v) => v.name === 'ucloud-etc');
      expect(etc?.projected?.sources).toContainEqual({
        secret: { name: `j-${JOB_ID}-ssh`, items: [{ key: 'authorized_keys', path: 'ssh/authorized_keys.ucloud', mode: 0o444 }] },
      });
      expect(pod.spec?.containers[0]?.env).toContainEqual({ name: 'UCLOUD_PUBLIC_SSH', value: `ssh.example.org:${port}` });
    }
    const text = `SSH: Connected! Available at: ssh ucloud@ssh.example.org -p ${port}`;
    await stack.core.waitFor(() => stack.core.updates.some((u) => u.id === JOB_ID && u.update.status === text), 60_000, 'the SSH address at UCloud/Core');

    // The job ends: its SSH port is closed with its ranks.
    expect((await terminate(stack, JOB_ID)).status).toBe(200);
    await noPodsLeft(stack, JOB_ID);
    await eventually(async () => (await stack.ns.kube.services.get(stack.ns.name, `j-${JOB_ID}-ssh`)) === undefined, 'the SSH Service removed');
    // Deleted in the same teardown pass, just after the Service.
    await eventually(async () => (await stack.ns.kube.networkPolicies.get(stack.ns.name, `j-${JOB_ID}-ssh`)) === undefined, 'the SSH policy removed');
  }, 90_000);
});
