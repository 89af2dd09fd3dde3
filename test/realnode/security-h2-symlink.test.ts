// H2 on a real node: a symlink in a user's drive must not mount another user's files. User A's
// first job creates `link -> ../p-2002/private` in A's drive p-1001; A's second job asks for
// `/p-1001/link`. The host directories sit side by side as a site's storage would hold them
// (<root>/p-1001, <root>/p-2002), so a kubelet that followed the link would land on the victim's
// folder.
//
// With jobs.sharedStorage.perDriveClaim each drive is its own `local` PV (<root>/p-1001 and
// <root>/p-2002): the kubelet resolves the subPath `link` and refuses it, since it leaves the
// volume. What happens (kubelet 1.36): the container is never created, its state stays waiting with
// CreateContainerConfigError "failed to create subPath directory for volumeMount ...", the job runs
// nothing, and the victim's file is untouched. The legacy
// single-claim layout (one PV over <root>, subPath `p-1001/link`) is shown too: there the link
// stays inside the volume, the kubelet follows it, and the second job reads and overwrites the
// victim's file: why the per-drive layout is the one to configure (docs/security.md).
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api, type V1ContainerStateWaiting } from '@kubernetes/client-node';
import { podName } from '../../src/api/v1alpha1/names.js';
import { CLUSTER_DIR } from '../support/cluster-env.js';
import { eventually, type TestStack } from '../support/harness.js';
import { localClaim, removeLocalClaim } from '../support/local-volume.js';
import { describeOnRealNodes, runShellJob, startRealStack, thenWait } from '../support/real-node.js';

const OWN = 'p-1001';
const VICTIM = 'p-2002';

/** <root>/p-1001 (A's, empty) and <root>/p-2002/private/secret.txt (the victim's), owned by 11042 as UCloud keeps them. */
function drives(root: string): void {
  for (const d of [OWN, VICTIM, `${VICTIM}/private`]) {
    mkdirSync(resolve(root, d), { recursive: true });
    chownSync(resolve(root, d), 11042, 11042);
  }
  writeFileSync(resolve(root, VICTIM, 'private/secret.txt'), 'victim secret\n');
  chownSync(resolve(root, VICTIM, 'private/secret.txt'), 11042, 11042);
}

const PLANT = `ln -s ../${VICTIM}/private /work/${OWN}/link && echo planted`;
const STEAL = `printf 'read %s\\n' "$(cat /work/link/secret.txt 2>&1)"; echo stolen > /work/link/secret.txt 2>/dev/null && echo wrote`;

async function plant(stack: TestStack, id: string): Promise<void> {
  const job = await runShellJob(stack, id, thenWait(PLANT), { resources: [{ type: 'file', path: `/${OWN}`, readOnly: false }] });
  const [out] = await job.output();
  expect(out!.trim()).toBe('planted');
  await job.finish();
}

describeOnRealNodes('security: H2 a symlink to another drive (real node)', () => {
  describe('per-drive volumes (jobs.sharedStorage.perDriveClaim)', () => {
    let stack: TestStack;
    let root: string;
    beforeAll(async () => {
      stack = await startRealStack({ jobs: { sharedStorage: { perDriveClaim: 'ucloud-drive-{drive}' } } });
      root = resolve(CLUSTER_DIR, 'test-volumes', `${stack.ns.name}-drives`);
      drives(root);
      for (const d of [OWN, VICTIM]) await localClaim(stack.ns.kc, stack.ns.name, `ucloud-drive-${d}`, resolve(root, d));
    });
    afterAll(async () => {
      await stack?.stop();
      const core = stack?.ns.kc.makeApiClient(CoreV1Api);
      for (const d of [OWN, VICTIM]) await core?.deletePersistentVolume({ name: `${stack.ns.name}-ucloud-drive-${d}` }).catch(() => undefined);
      if (root) rmSync(root, { recursive: true, force: true });
    }, 120_000);

    it('the kubelet refuses to mount /p-1001/link: the container never starts and the victim file is untouched', async () => {
      await plant(stack, '91401');
      const job = await runShellJob(stack, '91402', thenWait(STEAL), { resources: [{ type: 'file', path: `/${OWN}/link`, readOnly: false }] });
      const core = stack.ns.kc.makeApiClient(CoreV1Api);
      const waiting = await eventually(
        async () => {
          const pod = await core.readNamespacedPod({ name: podName(job.name, 0), namespace: stack.ns.name });
          const w: V1ContainerStateWaiting | undefined = pod.status?.containerStatuses?.find((c) => c.name === 'user-job')?.state?.waiting;
          return w?.reason === 'CreateContainerConfigError' ? w : undefined;
        },
        'the kubelet to refuse the mount',
        90_000,
      );
      expect(waiting.message).toMatch(/failed to create subPath directory for volumeMount "drive-0"/);
      expect(await job.log(0)).toBe('');
      expect(readFileSync(resolve(root, VICTIM, 'private/secret.txt'), 'utf8')).toBe('victim secret\n');
      await job.finish();
    }, 240_000);
  });

  describe('the legacy single claim (jobs.sharedStorage.claimName): the attack works', () => {
    let stack: TestStack;
    let root: string;
    beforeAll(async () => {
      stack = await startRealStack({ jobs: { sharedStorage: { claimName: 'shared' } } });
      root = await localClaim(stack.ns.kc, stack.ns.name, 'shared');
      drives(root);
    });
    afterAll(async () => {
      await stack?.stop();
      if (stack) await removeLocalClaim(stack.ns.kc, stack.ns.name, 'shared', root);
    }, 120_000);

    it("the kubelet follows the link inside the one volume: the second job reads and overwrites the victim's file", async () => {
      await plant(stack, '91411');
      const job = await runShellJob(stack, '91412', thenWait(STEAL), { resources: [{ type: 'file', path: `/${OWN}/link`, readOnly: false }] });
      const [out] = await job.output();
      expect(out!.trim().split('\n')).toEqual(['read victim secret', 'wrote']);
      expect(readFileSync(resolve(root, VICTIM, 'private/secret.txt'), 'utf8')).toBe('stolen\n');
      await job.finish();
    }, 240_000);
  });
});
