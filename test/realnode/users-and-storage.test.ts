// Real containers and the user rule (pod-builder.ts): images whose USER is root, a numeric
// non-root user and UCloud's 11042 all start, and run as 11042; an application that asks for root
// (where the provider allows it) runs as root. /work is writable by the job's user on an emptyDir
// and on a PVC subPath, and UCloud files from a real PersistentVolume are readable, writable where
// asked and read-only where asked.
import { chownSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { jobIdLabelValue } from '../../src/api/v1alpha1/names.js';
import { type TestStack } from '../support/harness.js';
import { localClaim } from '../support/local-volume.js';
import { describeOnRealNodes, IMAGES, keyedLines, runShellJob, startRealStack, thenWait } from '../support/real-node.js';

const WHO = `printf 'id %s:%s\\n' "$(id -u)" "$(id -g)"; echo hi > /work/hello && printf 'work %s\\n' "$(cat /work/hello)"`;

describeOnRealNodes('users and storage on a real node', () => {
  describe('images and /work on an emptyDir', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startRealStack({ jobs: { allowRunAsRoot: true } });
    });
    afterAll(async () => stack?.stop(), 120_000);

    it.each([
      ['root', IMAGES.root, '90401'],
      ['numeric non-root (1000)', IMAGES.shell, '90402'],
      ["UCloud's 11042", IMAGES.ucloud, '90403'],
    ])(
      'an image whose user is %s starts and runs as 11042, with /work writable',
      async (_user, image, id) => {
        const job = await runShellJob(stack, id, thenWait(WHO), { image });
        const [out] = await job.output();
        expect(keyedLines(out!)).toEqual({ id: '11042:11042', work: 'hi' });
        await job.finish();
      },
      150_000,
    );

    it('an application that asks for root runs as root', async () => {
      const job = await runShellJob(stack, '90404', thenWait(WHO), { image: IMAGES.root, runAsRoot: true });
      const [out] = await job.output();
      expect(keyedLines(out!)).toEqual({ id: '0:0', work: 'hi' });
      await job.finish();
    }, 150_000);
  });

  describe('/work on a PVC subPath and UCloud files from a real PersistentVolume', () => {
    let stack: TestStack;
    let workDir: string;
    let sharedDir: string;
    beforeAll(async () => {
      stack = await startRealStack({ jobs: { workVolume: { type: 'pvc', claimName: 'work', subPathPrefix: 'jobs' }, sharedStorage: { claimName: 'shared' } } });
      workDir = await localClaim(stack.ns.kc, stack.ns.name, 'work');
      sharedDir = await localClaim(stack.ns.kc, stack.ns.name, 'shared');
      // The user's files as UCloud keeps them: owned by 11042.
      for (const d of ['p-4242', 'p-4242/Datasets', 'p-4242/Results']) {
        mkdirSync(resolve(sharedDir, d), { recursive: true });
        chownSync(resolve(sharedDir, d), 11042, 11042);
      }
      writeFileSync(resolve(sharedDir, 'p-4242/Datasets/input.txt'), 'measurements 1 2 3\n');
      chownSync(resolve(sharedDir, 'p-4242/Datasets/input.txt'), 11042, 11042);
    });
    afterAll(async () => {
      await stack?.stop();
      const core = stack?.ns.kc.makeApiClient(CoreV1Api);
      for (const c of ['work', 'shared']) await core?.deletePersistentVolume({ name: `${stack.ns.name}-${c}` }).catch(() => undefined);
      for (const d of [workDir, sharedDir]) if (d) rmSync(d, { recursive: true, force: true });
    }, 120_000);

    it('the job writes its /work and Results, reads Datasets, and cannot write Datasets', async () => {
      const id = '90410';
      const script = `${WHO}
printf 'read %s\\n' "$(cat /work/Datasets/input.txt)"
echo result > /work/Results/out.txt && echo 'wrote Results'
if (echo x > /work/Datasets/new.txt) 2>/dev/null; then echo 'wrote Datasets'; else echo 'Datasets read-only'; fi`;
      const job = await runShellJob(stack, id, thenWait(script), {
        resources: [
          { type: 'file', path: '/p-4242/Datasets', readOnly: true },
          { type: 'file', path: '/p-4242/Results', readOnly: false },
        ],
      });
      const [out] = await job.output();
      expect(out!.trim().split('\n')).toEqual(['id 11042:11042', 'work hi', 'read measurements 1 2 3', 'wrote Results', 'Datasets read-only']);
      // On the volumes themselves: the job's /work is its own subPath directory, and what it wrote
      // belongs to 11042.
      const own = resolve(workDir, 'jobs', jobIdLabelValue(id), 'hello');
      expect(readFileSync(own, 'utf8')).toBe('hi\n');
      expect(statSync(own).uid).toBe(11042);
      expect(readFileSync(resolve(sharedDir, 'p-4242/Results/out.txt'), 'utf8')).toBe('result\n');
      expect(statSync(resolve(sharedDir, 'p-4242/Results/out.txt')).uid).toBe(11042);
    }, 150_000);
  });
});
