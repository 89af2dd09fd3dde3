// The job folder on a real node (jobs.jobFolder, docs/adr/0018): a batch job writes a file and
// prints to stdout and stderr; after it has ended and its pods are gone, the file, its
// stdout-0.log and JobParameters.json are in the user's job folder on the shared volume (a real
// `local` PersistentVolume), owned by the job's user; Core was told the folder as outputFolder;
// follow replays the saved log; and through the log wrapper a failing command's exit status, an
// OOM kill and terminate's SIGTERM still reach the operator and the program as without it.
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { eventually, type TestStack } from '../support/harness.js';
import { createJobs, crWhen, noPodsLeft, terminate } from '../support/jobs.js';
import { localClaim } from '../support/local-volume.js';
import { describeOnRealNodes, shellJob, startRealStack } from '../support/real-node.js';
import { FrameClient } from '../support/ws-frames.js';

const PARAMETERS = {
  siteVersion: 3,
  request: { application: { name: 'acme-batch', version: '1.0.0' }, name: 'run "$(x)"', replicas: 1 },
  machineType: { cpu: 1 },
};

describeOnRealNodes('the job folder on a real node', () => {
  let stack: TestStack;
  let dir: string;
  beforeAll(async () => {
    stack = await startRealStack({
      jobs: {
        jobFolder: { claimName: 'ucloud-files', ucloudPath: { home: '/home-{user}/Jobs/{appTitle}/{jobId}', project: '/{project}/Jobs/{appTitle}/{jobId}' } },
      },
      interactive: { followPollSeconds: 0.2 },
    });
    dir = await localClaim(stack.ns.kc, stack.ns.name, 'ucloud-files');
    // The user's home as UCloud keeps it: owned by 11042.
    mkdirSync(resolve(dir, 'home/user'), { recursive: true });
    for (const d of ['home', 'home/user']) chownSync(resolve(dir, d), 11042, 11042);
  });
  afterAll(async () => {
    await stack?.stop();
    await stack?.ns.kc
      .makeApiClient(CoreV1Api)
      .deletePersistentVolume({ name: `${stack.ns.name}-ucloud-files` })
      .catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const submit = async (id: string, script: string) => {
    const job = shellJob(id, script) as { status: Record<string, unknown> };
    job.status.jobParametersJson = PARAMETERS;
    const res = await createJobs(stack, job);
    expect(res.status).toBe(200);
    return job;
  };

  it('a batch job leaves its file and its output in the folder, Core learns the folder, and follow replays the log', async () => {
    const id = '90801';
    const job = await submit(id, 'echo "result 42" > /work/result.txt\necho "to stdout"\necho "to stderr" >&2\necho "uid $(id -u)"');
    const ended = await crWhen(stack, id, (j) => j.status?.state === 'SUCCESS', 'SUCCESS', 120_000);
    await noPodsLeft(stack, id, 90_000);

    // On the volume itself, where UCloud keeps the user's files: IM2's Jobs/<app title>/<job id>.
    const folder = resolve(dir, 'home/user/Jobs/Acme batch', id);
    expect(readFileSync(resolve(folder, 'result.txt'), 'utf8')).toBe('result 42\n');
    const log = readFileSync(resolve(folder, 'stdout-0.log'), 'utf8');
    expect(log.split('\n').sort()).toEqual(['', 'to stderr', 'to stdout', 'uid 11042']);
    expect(JSON.parse(readFileSync(resolve(folder, 'JobParameters.json'), 'utf8'))).toEqual(PARAMETERS);
    for (const f of ['result.txt', 'stdout-0.log', 'JobParameters.json']) expect(statSync(resolve(folder, f)).uid).toBe(11042);
    // The folder the kubelet made: the job user's group (fsGroup), group-writable.
    const made = statSync(folder);
    expect([made.gid, made.mode & 0o070]).toEqual([11042, 0o070]);
    expect(ended.spec.jobFolder).toEqual({
      claimName: 'ucloud-files',
      subPath: `home/user/Jobs/Acme batch/${id}`,
      ucloudPath: `/home-user/Jobs/Acme batch/${id}`,
    });

    // UCloud/Core was told where the output is.
    await eventually(
      () => stack.core.updates.some((u) => u.id === id && u.update.outputFolder === `/home-user/Jobs/Acme batch/${id}`),
      'outputFolder reported',
    );

    // follow after the end: the saved log, from the folder, and then the end of the session.
    const wsUrl = `${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/jobs.provider.${stack.core.providerId}/websocket`;
    const client = await FrameClient.connect(wsUrl, { authorization: `Bearer ${await stack.core.signCoreToken()}` });
    client.send({ call: `jobs.provider.${stack.core.providerId}.follow`, streamId: 'f', payload: { type: 'init', job } });
    await client.waitFor((f) => f.streamId === 'f' && f.type === 'response', 'the replay to end', 120_000);
    const replayed = client.followText('f', 0);
    expect(replayed).toBe(log);
    await client.close();
  }, 300_000);

  it('terminate reaches the program through the log wrapper (its TERM trap runs and logs)', async () => {
    const id = '90803';
    await submit(id, 'trap "echo got TERM; exit 0" TERM\necho ready\nwhile true; do sleep 1; done');
    const log = resolve(dir, 'home/user/Jobs/Acme batch', id, 'stdout-0.log');
    await eventually(() => existsSync(log) && readFileSync(log, 'utf8').includes('ready'), 'the program to run', 120_000);
    await terminate(stack, id);
    await noPodsLeft(stack, id, 90_000);
    expect(readFileSync(log, 'utf8')).toBe('ready\ngot TERM\n');
  }, 300_000);

  it('an OOM kill under the log wrapper is still FAILURE saying so', async () => {
    const id = '90804';
    await submit(id, `awk 'BEGIN { s = "0123456789abcdef"; while (1) s = s s }'`);
    const failed = await crWhen(stack, id, (j) => j.status?.state === 'FAILURE', 'FAILURE', 120_000);
    expect(failed.status?.message).toMatch(/rank 0 was OOM killed/);
  }, 300_000);

  it("a failing command's own exit status decides the state, through the log wrapper", async () => {
    const id = '90802';
    await submit(id, 'echo "about to fail"\nexit 3');
    const failed = await crWhen(stack, id, (j) => j.status?.state === 'FAILURE', 'FAILURE', 120_000);
    expect(failed.status?.message).toMatch(/exited with code 3\b/);
    await noPodsLeft(stack, id, 90_000);
    expect(readFileSync(resolve(dir, 'home/user/Jobs/Acme batch', id, 'stdout-0.log'), 'utf8')).toBe('about to fail\n');
  }, 300_000);
});
