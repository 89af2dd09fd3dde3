// What an SRE with kubectl sees on the real apiserver when a job cannot start or someone edits
// what they must not: a pod refused by a ResourceQuota is a Warning Event (FailedCreatePod) and a
// ChildrenCreated=False condition, shown by `kubectl describe uj` and `kubectl get uj -o wide`, and
// cleared once the pods are admitted; the fields that identify and bill a job are immutable (CEL);
// the EXPIRES column reads as a time for a running job and is empty once it has ended.
import { CoreV1Api } from '@kubernetes/client-node';
import { jobResourceName } from '../../src/api/v1alpha1/names.js';
import { eventually } from '../support/harness.js';
import { useStack } from '../support/stack-hooks.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, runningPods, terminate } from '../support/jobs.js';
import { kubectl } from '../support/ops.js';

describe('visible failures and protected fields', () => {
  const stack = useStack('all');

  it('a pod refused by a ResourceQuota shows as a Warning Event and a condition, and clears once admitted', async () => {
    const core = stack().ns.kc.makeApiClient(CoreV1Api);
    const ns = stack().ns.name;
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
    const id = '9101';
    expect((await createJobs(stack(), batchJob(id))).status).toBe(200);
    const name = jobResourceName(id);

    const stuck = await crWhen(
      stack(),
      id,
      (j) => j.status?.conditions?.some((c) => c.type === 'ChildrenCreated' && c.status === 'False') ?? false,
      'ChildrenCreated=False',
    );
    const cond = stuck.status!.conditions!.find((c) => c.type === 'ChildrenCreated')!;
    expect(cond.reason).toBe('FailedCreatePod');
    expect(cond.message).toMatch(/^Creating pod j-9101-0 was refused \(403 Forbidden\): .*exceeded quota: no-pods/);

    const describe = await eventually(async () => {
      const out = await kubectl(['-n', ns, 'describe', 'uj', name]);
      return /Warning\s+FailedCreatePod/.test(out.stdout) ? out.stdout : undefined;
    }, 'the Warning Event in kubectl describe');
    expect(describe).toMatch(/Reason:\s+FailedCreatePod\s+Status:\s+False\s+Type:\s+ChildrenCreated/);
    expect(describe).toMatch(/exceeded quota: no-pods/);

    const wide = await kubectl(['-n', ns, 'get', 'uj', name, '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/\bREFUSED\b/);
    expect(wide.stdout).toMatch(/Creating pod j-9101-0 was refused/);
    // The Event is said once per distinct refusal, not on every retry.
    const events = await kubectl(['-n', ns, 'get', 'events', '--field-selector', `reason=FailedCreatePod,involvedObject.name=${name}`, '-o', 'name']);
    expect(events.stdout.trim().split('\n').filter(Boolean)).toHaveLength(1);

    await core.deleteNamespacedResourceQuota({ namespace: ns, name: 'no-pods' });
    await runningPods(stack(), id, 1, 120_000);
    const admitted = await crWhen(
      stack(),
      id,
      (j) => j.status?.conditions?.some((c) => c.type === 'ChildrenCreated' && c.status === 'True') ?? false,
      'ChildrenCreated=True',
    );
    expect(admitted.status?.conditions?.find((c) => c.type === 'ChildrenCreated')).toMatchObject({ reason: 'Created', message: '' });
  }, 180_000);

  it('kubectl edits of the identifying and billing fields are refused; extend-like edits are not', async () => {
    const ns = stack().ns.name;
    const id = '9102';
    expect((await createJobs(stack(), batchJob(id, { timeAllocationSeconds: 3600 }))).status).toBe(200);
    const name = jobResourceName(id);
    await crWhen(stack(), id, () => true, 'the CR');
    for (const [patch, field] of [
      [{ spec: { product: { id: 'u1-gpu-1' } } }, 'product'],
      [{ spec: { replicas: 2 } }, 'replicas'],
      [{ spec: { jobId: '1' } }, 'jobId'],
      [{ spec: { owner: { createdBy: 'mallory' } } }, 'owner'],
    ] as const) {
      const out = await kubectl(['-n', ns, 'patch', 'uj', name, '--type', 'merge', '-p', JSON.stringify(patch)]);
      expect([field, out.code]).not.toEqual([field, 0]);
      expect(out.stderr).toContain(`${field} is immutable`);
    }
    const allowed = await kubectl(['-n', ns, 'patch', 'uj', name, '--type', 'merge', '-p', JSON.stringify({ spec: { timeAllocationMillis: 7_200_000 } })]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
  });

  it('EXPIRES shows the deadline of a running job and nothing once it has ended', async () => {
    const ns = stack().ns.name;
    const id = '9103';
    expect((await createJobs(stack(), batchJob(id, { timeAllocationSeconds: 3600 }))).status).toBe(200);
    const name = jobResourceName(id);
    await runningPods(stack(), id, 1);
    const running = await crWhen(stack(), id, (j) => j.status?.state === 'RUNNING' && !!j.status.runsUntil, 'RUNNING with runsUntil');
    const column = async () => {
      const out = await kubectl(['-n', ns, 'get', 'uj', name, '-o', 'wide']);
      const [header, row] = out.stdout.split('\n');
      const start = header!.indexOf('EXPIRES');
      const end = header!.indexOf('MESSAGE');
      return row!.slice(start, end).trim();
    };
    expect(await column()).toBe(running.status!.expiresAt);
    expect(await column()).not.toContain('<invalid>');

    expect((await terminate(stack(), id)).status).toBe(200);
    const done = await crWhen(stack(), id, (j) => j.status?.state === 'SUCCESS', 'SUCCESS in the CR');
    expect(done.status?.runsUntil).toBeUndefined();
    expect(done.status?.expiresAt).toBe(running.status!.expiresAt);
    expect(await column()).toBe('');
  }, 120_000);
});
