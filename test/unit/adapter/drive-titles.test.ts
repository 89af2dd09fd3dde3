// create names a whole mounted drive by its title at UCloud/Core, as IM2 does
// (shared/mount_paths.go ResolveJobMounts), and never lets the look-up fail the create.
import type { Job } from '../../../src/ucloud/job.js';
import { adapterConfig, jobsPath, makeKeys, simpleJob, startAdapter, storedJob, type Keys } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const mounting = (id: string, ...paths: string[]) =>
  simpleJob(id, (j: Job) => void (j.specification.resources = paths.map((path) => ({ type: 'file' as const, path, readOnly: false }))));

describe('create: whole drives', () => {
  it('mounts a whole drive at /work/<its title>, and a drive Core does not know under its id', async () => {
    const asked: string[] = [];
    const titles: Record<string, string> = { '4711': 'Member Files: alice#1234', '5': 'Data' };
    const h = await startAdapter(keys, {
      config: adapterConfig(keys.der, { jobs: { sharedStorage: { claimName: 'ucloud-storage' } } }),
      deps: { driveTitle: async (id) => (asked.push(id), titles[id]) },
    });
    try {
      const res = await h.call('POST', jobsPath(), { items: [mounting('801', '/4711', '/5/', '/6', '/5/Data')] });
      expect(res.status).toBe(200);
      const spec = (await storedJob(h.kube, '801'))!.spec;
      expect(spec.mounts.map((m) => [m.ucloudPath, m.mountPath])).toEqual([
        ['/4711', '/work/alice#1234'],
        ['/5/', '/work/Data-0'],
        ['/6', '/work/6'],
        ['/5/Data', '/work/Data-1'],
      ]);
      expect(asked.sort()).toEqual(['4711', '5', '6']);
    } finally {
      await h.close();
    }
  });

  it('still creates the job, drives named by id, when the look-up fails', async () => {
    const h = await startAdapter(keys, {
      config: adapterConfig(keys.der, { jobs: { sharedStorage: { claimName: 'ucloud-storage' } } }),
      deps: {
        driveTitle: async () => {
          throw new Error('Core is down');
        },
      },
    });
    try {
      expect((await h.call('POST', jobsPath(), { items: [mounting('802', '/4711')] })).status).toBe(200);
      expect((await storedJob(h.kube, '802'))!.spec.mounts[0]!.mountPath).toBe('/work/4711');
    } finally {
      await h.close();
    }
  });
});
