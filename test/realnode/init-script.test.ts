// The ucloud.dk/init-script label inside a real container (ADR 0022): bash runs the script before
// the program, as IM2's job script does, and what it leaves behind is there for the program; a
// script that fails ends the rank without starting the program and the job's status says why; an
// image without bash is told apart. The scripts are the user's files, on a real PersistentVolume
// mounted as a UCloud folder; the image with bash is the test images' busybox plus Debian's
// bash-static (scripts/cluster/node-images).
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type TestStack } from '../support/harness.js';
import { createJobs, crWhen } from '../support/jobs.js';
import { localClaim, removeLocalClaim } from '../support/local-volume.js';
import { describeOnRealNodes, IMAGES, shellJob, shellJobHandle, startRealStack, thenWait } from '../support/real-node.js';

describeOnRealNodes('the init script on a real node', () => {
  let stack: TestStack;
  let shared = '';
  beforeAll(async () => {
    stack = await startRealStack({ jobs: { sharedStorage: { claimName: 'shared' } } });
    shared = await localClaim(stack.ns.kc, stack.ns.name, 'shared');
    mkdirSync(resolve(shared, 'p-9/Scripts'), { recursive: true });
    chownSync(resolve(shared, 'p-9'), 11042, 11042);
    // Bash-only syntax ([[ ]], $BASH_VERSION): it fails under busybox sh.
    writeFileSync(
      resolve(shared, 'p-9/Scripts/init-ok.sh'),
      '[[ -n $BASH_VERSION ]] && echo "init: bash ${BASH_VERSION%%.*}"\nprintf "left by the init script\\n" > /tmp/from-init\n',
    );
    writeFileSync(resolve(shared, 'p-9/Scripts/init-fail.sh'), 'echo "init: failing"\nexit 4\n');
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    if (stack) await removeLocalClaim(stack.ns.kc, stack.ns.name, 'shared', shared);
  }, 120_000);

  /** A job whose program says it ran (stdout and a file in the user's folder), labelled with an init script. */
  function labelled(id: string, script: string, image: string) {
    const program = thenWait(`echo "program: $(cat /tmp/from-init 2>/dev/null || echo 'nothing from init')"\ntouch /work/p-9/program-ran-${id}`);
    const job = shellJob(id, program, { image, resources: [{ type: 'file', path: '/p-9', readOnly: false }] }) as {
      specification: { labels?: Record<string, string> };
    };
    job.specification.labels = { 'ucloud.dk/init-script': script };
    return job;
  }

  it('runs the script with bash before the program, and the program sees what it left', async () => {
    expect((await createJobs(stack, labelled('90601', '/work/p-9/Scripts/init-ok.sh', IMAGES.bash))).status).toBe(200);
    const handle = shellJobHandle(stack, '90601', 1);
    const [out] = await handle.output();
    expect(out!.trim().split('\n')).toEqual(['init: bash 5', 'program: left by the init script']);
    await handle.finish();
  }, 180_000);

  /** The job ends FAILURE with `message`, and its program never ran. */
  async function failsWithout(id: string, script: string, image: string, message: string): Promise<void> {
    expect((await createJobs(stack, labelled(id, script, image))).status).toBe(200);
    const ended = await crWhen(stack, id, (j) => j.status?.state === 'FAILURE', `job ${id} FAILURE`, 120_000);
    expect(ended.status?.message).toBe(`The job failed: rank 0 did not start its program: ${message}`);
    expect(existsSync(resolve(shared, `p-9/program-ran-${id}`))).toBe(false);
  }

  it('ends the job FAILURE, saying the init script failed, without starting the program', async () => {
    await failsWithout('90602', '/work/p-9/Scripts/init-fail.sh', IMAGES.bash, 'its init script exited with code 4');
  }, 180_000);

  it('tells an image without bash apart from a script that failed', async () => {
    await failsWithout('90603', '/work/p-9/Scripts/init-ok.sh', IMAGES.ucloud, 'its init script could not run: the image has no bash');
  }, 180_000);
});
