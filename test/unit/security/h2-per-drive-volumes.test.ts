// security: H2 — a symlink must not reach another user's drive. With one PVC for all storage, a
// mount is a subPath of everyone's files and the kubelet only keeps symlinks inside that volume;
// with jobs.sharedStorage.perDriveClaim each drive is its own volume, so the kubelet's boundary is
// the user's drive. This test shows the pod the operator asks for; the attack itself (a symlink
// to ../<victim-drive> followed by a real kubelet) is for the real-node tests.
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { specProblems } from '../../../src/controller/spec-check.js';
import { unitConfig } from '../../support/config.js';
import { job } from '../../support/job-factory.js';

const mounts = [
  { name: 'file-0', ucloudPath: '/4711/project/data', subPath: '4711/project/data', readOnly: false, mountPath: '/work/data' },
  { name: 'file-1', ucloudPath: '/4711/other', subPath: '4711/other', readOnly: true, mountPath: '/work/other' },
  { name: 'file-2', ucloudPath: '/99', subPath: '99', readOnly: false, mountPath: '/work/99' },
];

describe('security: H2 file mounts are confined to their drive', () => {
  it('perDriveClaim: one volume per drive, the subPath inside the drive, never a volume holding other drives', () => {
    const config = unitConfig({ jobs: { sharedStorage: { perDriveClaim: 'ucloud-drive-{drive}' } } });
    const pod = buildPod(job({ mounts }), 0, config);
    const claims = (pod.spec!.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => [v.name, v.persistentVolumeClaim!.claimName]);
    expect(claims).toEqual([
      ['drive-0', 'ucloud-drive-4711'],
      ['drive-1', 'ucloud-drive-99'],
    ]);
    const vm = pod.spec!.containers[0]!.volumeMounts!.filter((m) => m.name.startsWith('drive-'));
    expect(vm).toEqual([
      { name: 'drive-0', mountPath: '/work/data', subPath: 'project/data', readOnly: false },
      { name: 'drive-0', mountPath: '/work/other', subPath: 'other', readOnly: true },
      { name: 'drive-1', mountPath: '/work/99', readOnly: false },
    ]);
    expect(pod.spec!.volumes!.some((v) => v.name === 'shared-storage')).toBe(false);
  });

  it('refuses a drive that cannot name a volume, and a configuration with both or neither layout', () => {
    const config = unitConfig({ jobs: { sharedStorage: { perDriveClaim: 'ucloud-drive-{drive}' } } });
    const bad = job({ mounts: [{ name: 'file-0', ucloudPath: '/Home_Dir/x', subPath: 'Home_Dir/x', readOnly: false, mountPath: '/work/x' }] });
    expect(specProblems(bad, config).join()).toMatch(/per-drive volume/);
    expect(() => unitConfig({ jobs: { sharedStorage: { claimName: 'all', perDriveClaim: 'd-{drive}' } } })).toThrow(/exactly one/);
    expect(() => unitConfig({ jobs: { sharedStorage: { perDriveClaim: 'no-placeholder' } } })).toThrow(/\{drive\}/);
  });
});
