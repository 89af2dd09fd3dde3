import type { V1Pod } from '@kubernetes/client-node';
import { API_VERSION, KIND, type UCloudJob } from '../../src/api/v1alpha1/ucloudjob.js';
import { KubeError, isConflict } from '../../src/k8s/errors.js';
import { FakeKube, mergePatch } from '../support/fake-kube.js';
import { NS, job as ucloudJob } from '../support/job-factory.js';

/** Job j-1 as a client sends it: no server metadata (uid), a label, a status to be ignored. */
function job(): UCloudJob {
  const j = ucloudJob({ jobId: '1' });
  return { ...j, metadata: { name: j.metadata.name, namespace: NS, labels: { app: 'x' } }, status: { state: 'RUNNING' } };
}

function pod(name: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

describe('FakeKube', () => {
  it('stamps server metadata and ignores status on create (status subresource)', async () => {
    const kube = new FakeKube(() => new Date('2030-01-01T00:00:00Z'));
    const { created, object } = await kube.ucloudJobs.create(job());
    expect(created).toBe(true);
    expect(object.metadata).toMatchObject({ namespace: NS, resourceVersion: '1', generation: 1, creationTimestamp: '2030-01-01T00:00:00.000Z' });
    expect(object.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(object.status).toBeUndefined();
    const again = await kube.ucloudJobs.create(job());
    expect(again.created).toBe(false);
    expect(again.object.metadata.uid).toBe(object.metadata.uid);
  });

  it('deep-copies in and out', async () => {
    const kube = new FakeKube();
    const input = job();
    const { object } = await kube.ucloudJobs.create(input);
    input.spec.replicas = 7;
    object.spec.replicas = 9;
    expect((await kube.ucloudJobs.get(NS, 'j-1'))!.spec.replicas).toBe(1);
  });

  it('replace: resourceVersion precondition, generation on spec change, status untouched, no-op keeps version', async () => {
    const kube = new FakeKube();
    await kube.ucloudJobs.create(job());
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-1', { state: 'RUNNING', message: 'x' });
    const current = (await kube.ucloudJobs.get(NS, 'j-1'))!;

    const noop = await kube.ucloudJobs.replace(current);
    expect(noop.metadata.resourceVersion).toBe(current.metadata.resourceVersion);

    const changed = structuredClone(current);
    changed.spec.timeAllocationMillis = 1000;
    changed.status = { state: 'FAILURE' };
    const replaced = await kube.ucloudJobs.replace(changed);
    expect(replaced.metadata.generation).toBe(2);
    expect(replaced.status).toEqual({ state: 'RUNNING', message: 'x' });
    expect(Number(replaced.metadata.resourceVersion)).toBeGreaterThan(Number(current.metadata.resourceVersion));

    const labelsOnly = structuredClone(replaced);
    labelsOnly.metadata.labels = { app: 'y' };
    expect((await kube.ucloudJobs.replace(labelsOnly)).metadata.generation).toBe(2);

    const err = await kube.ucloudJobs.replace(changed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect(isConflict(err)).toBe(true);
  });

  it('replaceStatus ignores spec; mergePatchStatus merges and null deletes', async () => {
    const kube = new FakeKube();
    const { object } = await kube.ucloudJobs.create(job());
    const withStatus = structuredClone(object);
    withStatus.spec.replicas = 5;
    withStatus.status = { state: 'IN_QUEUE', message: 'queued', ranks: '0/1' };
    const after = await kube.ucloudJobs.replaceStatus(withStatus);
    expect(after.spec.replicas).toBe(1);
    expect(after.metadata.generation).toBe(1);
    await expect(kube.ucloudJobs.replaceStatus(withStatus)).rejects.toMatchObject({ code: 409 });

    const patched = await kube.ucloudJobs.mergePatchStatus(NS, 'j-1', { message: null as unknown as string, state: 'RUNNING' });
    expect(patched.status).toEqual({ state: 'RUNNING', ranks: '0/1' });
    await expect(kube.ucloudJobs.mergePatchStatus(NS, 'missing', {})).rejects.toMatchObject({ code: 404 });
  });

  it('jsonPatchStatus applies test, replace and add like the apiserver; a failed test is 422 and changes nothing', async () => {
    const kube = new FakeKube();
    await kube.ucloudJobs.create(job());
    const c = (type: string) => ({ type, status: 'True' as const, reason: 'R', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' });
    await kube.ucloudJobs.mergePatchStatus(NS, 'j-1', { conditions: [c('Running')], outbox: { acknowledgedSeq: 0, entries: [] } });
    const added = await kube.ucloudJobs.jsonPatchStatus(NS, 'j-1', [
      { op: 'replace', path: '/status/outbox/acknowledgedSeq', value: 2 },
      { op: 'add', path: '/status/conditions/-', value: c('Reported') },
    ]);
    expect(added.status?.outbox?.acknowledgedSeq).toBe(2);
    expect(added.status?.conditions?.map((x) => x.type)).toEqual(['Running', 'Reported']);
    const before = await kube.ucloudJobs.get(NS, 'j-1');
    await expect(
      kube.ucloudJobs.jsonPatchStatus(NS, 'j-1', [
        { op: 'replace', path: '/status/outbox/acknowledgedSeq', value: 3 },
        { op: 'test', path: '/status/conditions/0/type', value: 'Reported' },
      ]),
    ).rejects.toMatchObject({ code: 422 });
    expect(await kube.ucloudJobs.get(NS, 'j-1')).toEqual(before);
  });

  it('mergePatch follows RFC 7386', () => {
    expect(mergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({ a: 'z', c: { d: 'e' } });
    expect(mergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(mergePatch('x', { a: 1 })).toEqual({ a: 1 });
  });

  it('lists by label selector', async () => {
    const kube = new FakeKube();
    await kube.pods.create(NS, pod('a', { job: '1', rank: '0' }));
    await kube.pods.create(NS, pod('b', { job: '1', rank: '1' }));
    await kube.pods.create(NS, pod('c', { job: '2' }));
    await kube.pods.create('other', pod('d', { job: '1' }));
    const names = async (sel?: string) => (await kube.pods.list(NS, sel)).items.map((p) => p.metadata!.name);
    expect(await names()).toEqual(['a', 'b', 'c']);
    expect(await names('job=1')).toEqual(['a', 'b']);
    expect(await names('job==1,rank=1')).toEqual(['b']);
    expect(await names('rank')).toEqual(['a', 'b']);
    expect(await names('!rank')).toEqual(['c']);
    expect(await names('job!=1')).toEqual(['c']);
    await expect(names('job in (1,2)')).rejects.toMatchObject({ code: 400 });
    expect((await kube.pods.list(NS)).resourceVersion).toBe('4');
  });

  it('deletes (missing is fine), honours uid preconditions and finalizers; no GC of children', async () => {
    const kube = new FakeKube();
    await kube.pods.delete(NS, 'nope');
    const { object } = await kube.pods.create(NS, pod('a', {}));
    await expect(kube.pods.delete(NS, 'a', { uid: 'other' })).rejects.toMatchObject({ code: 409 });
    await kube.pods.delete(NS, 'a', { uid: object.metadata!.uid! });
    expect(await kube.pods.get(NS, 'a')).toBeUndefined();

    const j = job();
    j.metadata.finalizers = ['ucloud.dk/accounting'];
    await kube.ucloudJobs.create(j);
    await kube.pods.create(NS, pod('j-1-0', {}));
    await kube.ucloudJobs.delete(NS, 'j-1');
    expect((await kube.ucloudJobs.get(NS, 'j-1'))!.metadata.deletionTimestamp).toBeDefined();
    await kube.ucloudJobs.mergePatchMetadata(NS, 'j-1', { finalizers: null });
    expect(await kube.ucloudJobs.get(NS, 'j-1')).toBeUndefined();
    expect(await kube.pods.get(NS, 'j-1-0')).toBeDefined();
  });

  it('injects failures and logs calls', async () => {
    const kube = new FakeKube();
    kube.failNext('UCloudJob.create', new KubeError(503, 'ServiceUnavailable', 'down'));
    await expect(kube.ucloudJobs.create(job())).rejects.toMatchObject({ code: 503 });
    await kube.ucloudJobs.create(job());
    kube.failNext('get', new KubeError(0, 'NetworkError', 'reset'), 2);
    await expect(kube.ucloudJobs.get(NS, 'j-1')).rejects.toMatchObject({ code: 0 });
    await expect(kube.pods.get(NS, 'x')).rejects.toMatchObject({ code: 0 });
    expect(await kube.ucloudJobs.get(NS, 'j-1')).toBeDefined();
    await kube.recordEvent({
      namespace: NS,
      regarding: { apiVersion: API_VERSION, kind: KIND, name: 'j-1', namespace: NS },
      type: 'Normal',
      reason: 'R',
      action: 'A',
      note: 'n',
    });
    expect(kube.events).toHaveLength(1);
    expect(kube.calls.map((c) => `${c.kind}.${c.op}`)).toEqual([
      'UCloudJob.create',
      'UCloudJob.create',
      'UCloudJob.get',
      'Pod.get',
      'UCloudJob.get',
      'Event.recordEvent',
    ]);
    expect(kube.writes().map((c) => c.op)).toEqual(['create', 'create', 'recordEvent']);
  });

  it('seeds, mutates and lists nodes', async () => {
    const kube = new FakeKube();
    kube.seed('Node', { metadata: { name: 'n1', labels: { 'ucloud.dk/machine': 'example-compute' } } });
    kube.seed('Node', { metadata: { name: 'n2', labels: {} } });
    expect((await kube.listNodes('ucloud.dk/machine=example-compute')).map((n) => n.metadata!.name)).toEqual(['n1']);
    await kube.pods.create(NS, pod('a', {}));
    const before = (await kube.pods.get(NS, 'a'))!;
    const after = kube.mutate<V1Pod>('Pod', NS, 'a', (p) => (p.status = { phase: 'Running' }));
    expect(after.status?.phase).toBe('Running');
    expect(after.metadata!.resourceVersion).not.toBe(before.metadata!.resourceVersion);
    expect(after.metadata!.creationTimestamp).toBeInstanceOf(Date);
  });
});
