// SSH ports (ADR 0020): every SSH job gets its own port from the configured range at create, in
// its spec; the ports in use are read back from the UCloudJobs (a restarted adapter, or another
// replica, sees them), a job that ended frees its port, and a full range is a 409 with the reason.
import type { V1Service } from '@kubernetes/client-node';
import { SshInstaller } from '../../../../src/adapter/sessions/ssh.js';
import { pickFreePort, SshPortAllocator } from '../../../../src/adapter/sessions/ssh-ports.js';
import type { UCloudJob } from '../../../../src/api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../../../src/config.js';
import { buildPod } from '../../../../src/controller/desired/pod-builder.js';
import type { Job } from '../../../../src/ucloud/job.js';
import { FakeKube } from '../../../support/fake-kube.js';
import { MemorySecrets } from '../memory-secrets.js';
import { adapterConfig, jobsPath, makeKeys, NS, simpleJob, startAdapter, storedJob, type Keys } from '../support.js';

const sshJob = (id: string) =>
  simpleJob(id, (j: Job) => {
    j.specification.sshEnabled = true;
    j.status!.resolvedApplication!.invocation.ssh = { mode: 'OPTIONAL' };
  });

describe('pickFreePort', () => {
  it('returns a port of the range that is not taken, wrapping around from its random start', () => {
    expect(pickFreePort(100, 102, new Set([102, 100]), () => 0.99)).toBe(101);
    expect(pickFreePort(100, 102, new Set(), () => 0)).toBe(100);
    expect(pickFreePort(100, 100, new Set([100]))).toBeUndefined();
  });
});

describe('SSH ports at create', () => {
  let keys: Keys;
  beforeAll(async () => {
    keys = await makeKeys();
  });

  async function adapter(config: OperatorConfig, kube: FakeKube) {
    const control = { browseSshKeys: async () => [] };
    return startAdapter(keys, { config, kube, deps: { interactive: { follow: true, ssh: new SshInstaller(config, kube, new MemorySecrets(), control) } } });
  }
  const small = (keysDer: string, extra: Record<string, unknown> = {}) =>
    adapterConfig(keysDer, { interactive: { ssh: { enabled: true, host: 'ssh.example.org', portMin: 40000, portMax: 40002, ...extra } } });

  it('gives every job its own port, kept when the create is repeated, and a NodePort Service on that port', async () => {
    const config = small(keys.der);
    const kube = new FakeKube();
    const h = await adapter(config, kube);
    try {
      expect((await h.call('POST', jobsPath(), { items: [sshJob('p1'), sshJob('p2')] })).status).toBe(200);
      expect((await h.call('POST', jobsPath(), { items: [sshJob('p3')] })).status).toBe(200);
      const ports = await Promise.all(['p1', 'p2', 'p3'].map(async (id) => (await storedJob(kube, id))!.spec.sshPort));
      expect([...ports].sort()).toEqual([40000, 40001, 40002]);
      const p1 = (await storedJob(kube, 'p1'))!;
      expect((await h.call('POST', jobsPath(), { items: [sshJob('p1')] })).status).toBe(200);
      expect((await storedJob(kube, 'p1'))!.spec.sshPort).toBe(p1.spec.sshPort);
      expect(kube.peek<V1Service>('Service', NS, 'j-p1-ssh')!.spec!.ports).toEqual([
        { name: 'ssh', protocol: 'TCP', port: 22, targetPort: 22, nodePort: p1.spec.sshPort },
      ]);
    } finally {
      await h.close();
    }
  });

  it('a full range is refused with 409 SSH_PORTS_EXHAUSTED and writes nothing; a job that ended frees its port', async () => {
    const config = small(keys.der);
    const kube = new FakeKube();
    const h = await adapter(config, kube);
    try {
      expect((await h.call('POST', jobsPath(), { items: [sshJob('f1'), sshJob('f2'), sshJob('f3')] })).status).toBe(200);
      const writes = kube.writes().length;
      const full = await h.call('POST', jobsPath(), { items: [sshJob('f4')] });
      expect(full).toMatchObject({ status: 409, body: { errorCode: 'SSH_PORTS_EXHAUSTED', why: expect.stringContaining('40000-40002') } });
      expect(kube.writes()).toHaveLength(writes);

      const f2 = (await storedJob(kube, 'f2'))!;
      await kube.ucloudJobs.replaceStatus({ ...f2, status: { state: 'SUCCESS' } } as UCloudJob);
      expect((await h.call('POST', jobsPath(), { items: [sshJob('f4')] })).status).toBe(200);
      expect((await storedJob(kube, 'f4'))!.spec.sshPort).toBe(f2.spec.sshPort);
    } finally {
      await h.close();
    }
  });

  it('a new adapter (a restart, another replica) reads the ports in use from the UCloudJobs', async () => {
    const config = small(keys.der);
    const kube = new FakeKube();
    const first = await adapter(config, kube);
    try {
      expect((await first.call('POST', jobsPath(), { items: [sshJob('r1'), sshJob('r2')] })).status).toBe(200);
    } finally {
      await first.close();
    }
    const taken = new Set([(await storedJob(kube, 'r1'))!.spec.sshPort, (await storedJob(kube, 'r2'))!.spec.sshPort]);
    const [port] = await new SshPortAllocator(config, kube).allocate(1);
    expect(taken.has(port)).toBe(false);
    expect(port).toBe([40000, 40001, 40002].find((p) => !taken.has(p)));
  });

  it('concurrent allocations in one process never hand out the same port', async () => {
    const config = small(keys.der);
    const allocator = new SshPortAllocator(config, new FakeKube(), () => 0);
    const got = await Promise.all([allocator.allocate(1), allocator.allocate(1), allocator.allocate(1)]);
    expect(got.flat().sort()).toEqual([40000, 40001, 40002]);
    await expect(allocator.allocate(1)).rejects.toMatchObject({ status: 409 });
    allocator.release(got[1]!);
    expect(await allocator.allocate(1)).toEqual(got[1]);
  });

  it('every rank gets UCLOUD_PUBLIC_SSH; with expose hostPort rank 0 publishes the port on its node and no Service is made', async () => {
    const config = small(keys.der, { expose: 'hostPort', containerPort: 2222 });
    const kube = new FakeKube();
    const h = await adapter(config, kube);
    try {
      const res = await h.call('POST', jobsPath(), { items: [sshJob('h1')] });
      expect(res.status).toBe(200);
      const one = (await storedJob(kube, 'h1'))!;
      const stored = { ...one, spec: { ...one.spec, replicas: 2 } };
      const port = stored.spec.sshPort!;
      for (const rank of [0, 1]) {
        const env = buildPod(stored, rank, config).spec!.containers[0]!.env!;
        expect(env).toContainEqual({ name: 'UCLOUD_PUBLIC_SSH', value: `ssh.example.org:${port}` });
      }
      expect(buildPod(stored, 0, config).spec!.containers[0]!.ports).toEqual([{ name: 'ssh', containerPort: 2222, hostPort: port, protocol: 'TCP' }]);
      expect(buildPod(stored, 1, config).spec!.containers[0]!.ports).toBeUndefined();
      expect(kube.peek('Service', NS, 'j-h1-ssh')).toBeUndefined();
      expect(kube.peek('NetworkPolicy', NS, 'j-h1-ssh')).toBeDefined();
    } finally {
      await h.close();
    }
  });

  it('SSH without a host to tell users is a configuration error', () => {
    expect(() => adapterConfig(keys.der, { interactive: { ssh: { enabled: true } } })).toThrow(/interactive.ssh.host/);
    expect(() => adapterConfig(keys.der, { interactive: { ssh: { enabled: true, host: 'h', portMin: 5, portMax: 4 } } })).toThrow(/portMin/);
  });
});
