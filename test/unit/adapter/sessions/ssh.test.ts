import type { V1NetworkPolicy, V1Service } from '@kubernetes/client-node';
import { authorizedKeys, SshInstaller, sshWanted } from '../../../../src/adapter/sessions/ssh.js';
import type { UCloudJob } from '../../../../src/api/v1alpha1/ucloudjob.js';
import { buildPod } from '../../../../src/controller/desired/pod-builder.js';
import type { SSHKey } from '../../../../src/ucloud/control-api.js';
import type { Job } from '../../../../src/ucloud/job.js';
import { MemorySecrets } from '../memory-secrets.js';
import { adapterConfig, jobsPath, makeKeys, NS, simpleJob, startAdapter, storedJob, type Keys } from '../support.js';

const key = (id: string, k: string): SSHKey => ({ id, owner: 'user', createdAt: 0, fingerprint: `fp-${id}`, specification: { title: id, key: k } });
const withSsh = (id: string, mode: 'DISABLED' | 'OPTIONAL' | 'MANDATORY' | null, enabled: boolean | null) =>
  simpleJob(id, (j: Job) => {
    j.specification.sshEnabled = enabled;
    j.status!.resolvedApplication!.invocation.ssh = mode ? { mode } : null;
  });

describe('sshWanted', () => {
  it.each([
    ['OPTIONAL', true, true],
    ['OPTIONAL', false, false],
    ['OPTIONAL', null, false],
    ['MANDATORY', null, true],
    ['DISABLED', true, false],
    [null, true, false],
  ] as const)('mode %s, sshEnabled %s -> %s', (mode, enabled, wanted) => {
    expect(sshWanted(withSsh('1', mode, enabled))).toBe(wanted);
  });
});

describe('authorizedKeys', () => {
  it('one key per line, duplicates and keys that could add lines or options left out', () => {
    const keys = [
      key('a', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop'),
      key('b', '  ecdsa-sha2-nistp256 AAAAE2VjZHNh  '),
      key('c', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop'),
      key('d', 'ssh-rsa AAAAB3\nssh-rsa INJECTED'),
      key('e', 'command="rm -rf /" ssh-rsa AAAAB3'),
      key('f', ''),
    ];
    expect(authorizedKeys(keys)).toBe('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop\necdsa-sha2-nistp256 AAAAE2VjZHNh\n');
    expect(authorizedKeys([])).toBe('');
  });
});

describe('create with SSH', () => {
  let keys: Keys;
  beforeAll(async () => {
    keys = await makeKeys();
  });

  it('refuses a job that asks for SSH with 400 SSH_NOT_SUPPORTED when SSH is not offered, and writes nothing', async () => {
    const h = await startAdapter(keys);
    try {
      const res = await h.call('POST', jobsPath(), { items: [withSsh('s-0', 'OPTIONAL', false), withSsh('s-1', 'OPTIONAL', true)] });
      expect(res).toMatchObject({
        status: 400,
        body: { errorCode: 'SSH_NOT_SUPPORTED', why: expect.stringMatching(/^items\[1\]\.specification\.sshEnabled: /) },
      });
      expect(h.kube.writes()).toHaveLength(0);
      // Asking for SSH where the application does not allow it is not asking: the job runs without.
      expect((await h.call('POST', jobsPath(), { items: [withSsh('s-2', 'DISABLED', true)] })).status).toBe(200);
      expect((await storedJob(h.kube, 's-2'))?.spec.sshEnabled).toBe(false);
    } finally {
      await h.close();
    }
  });

  it("installs the owner's keys, the Service and the NetworkPolicy, owned by the job; the pods mount the keys", async () => {
    const config = adapterConfig(keys.der, {
      interactive: { ssh: { enabled: true, host: 'ssh.example.org', serviceType: 'LoadBalancer', containerPort: 2222, allowFrom: ['10.0.0.0/8'] } },
    });
    const secrets = new MemorySecrets();
    const asked: string[] = [];
    const control = { browseSshKeys: async (jobId: string) => (asked.push(jobId), [key('a', 'ssh-ed25519 AAAA alice')]) };
    const { FakeKube } = await import('../../../support/fake-kube.js');
    const kube = new FakeKube();
    const h = await startAdapter(keys, { config, kube, deps: { interactive: { follow: true, ssh: new SshInstaller(config, kube, secrets, control) } } });
    try {
      expect((await h.call('POST', jobsPath(), { items: [withSsh('s3', 'OPTIONAL', true), withSsh('s-4', 'OPTIONAL', false)] })).status).toBe(200);
      expect(asked).toEqual(['s3']);
      const job = (await storedJob(kube, 's3'))!;
      expect(job.spec.sshEnabled).toBe(true);
      expect((await storedJob(kube, 's-4'))!.spec.sshEnabled).toBe(false);
      const owner = [{ apiVersion: 'ucloud.dk/v1alpha1', kind: 'UCloudJob', name: 'j-s3', uid: job.metadata.uid }];
      const secret = await secrets.get(NS, 'j-s3-ssh');
      expect(Buffer.from(secret!.data!.authorized_keys!, 'base64').toString()).toBe('ssh-ed25519 AAAA alice\n');
      expect(secret!.metadata!.ownerReferences).toEqual(owner);
      const svc = kube.peek<V1Service>('Service', NS, 'j-s3-ssh')!;
      // The job's own port, from the configured range, is the load balancer's port.
      const port = job.spec.sshPort!;
      expect(port).toBeGreaterThanOrEqual(30000);
      expect(port).toBeLessThanOrEqual(32767);
      expect((await storedJob(kube, 's-4'))!.spec.sshPort).toBeUndefined();
      expect(svc.spec).toEqual({
        type: 'LoadBalancer',
        selector: { 'ucloud.dk/job': 'j-s3', 'ucloud.dk/rank': '0' },
        ports: [{ name: 'ssh', protocol: 'TCP', port, targetPort: 2222 }],
      });
      expect(svc.metadata!.ownerReferences).toEqual(owner);
      const policy = kube.peek<V1NetworkPolicy>('NetworkPolicy', NS, 'j-s3-ssh')!;
      expect(policy.spec?.ingress).toEqual([{ _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 2222 }] }]);

      const pod = buildPod(job, 0, config);
      const etc = pod.spec!.volumes!.find((v) => v.name === 'ucloud-etc')!;
      expect(etc.projected!.sources).toContainEqual({
        secret: { name: 'j-s3-ssh', items: [{ key: 'authorized_keys', path: 'ssh/authorized_keys.ucloud', mode: 0o444 }] },
      });
      const plain = buildPod((await storedJob(kube, 's-4')) as UCloudJob, 0, config);
      expect(JSON.stringify(plain)).not.toContain('-ssh');
    } finally {
      await h.close();
    }
  });

  it('a failure to fetch the keys fails the create and removes the job', async () => {
    const config = adapterConfig(keys.der, { interactive: { ssh: { enabled: true, host: 'ssh.example.org' } } });
    const control = { browseSshKeys: async () => Promise.reject(new Error('core is down')) };
    const { FakeKube } = await import('../../../support/fake-kube.js');
    const kube = new FakeKube();
    const h = await startAdapter(keys, {
      config,
      kube,
      deps: { interactive: { follow: true, ssh: new SshInstaller(config, kube, new MemorySecrets(), control) } },
    });
    try {
      const res = await h.call('POST', jobsPath(), { items: [withSsh('s-5', 'MANDATORY', null)] });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ why: 'internal error', errorCode: 'INTERNAL_ERROR' });
      expect(kube.all('UCloudJob')).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
