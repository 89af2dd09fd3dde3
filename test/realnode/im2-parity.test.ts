// What IM2 gives a job, inside a real container (ADR 0022): its software modules mounted read-only
// from a real PersistentVolume at <the application's modules folder>/<name> with
// UCLOUD_MODULES_ROOT naming that folder, UCLOUD_OPEN_WITH_FILE pointing at the opened file where
// its folder is mounted, and IM2's rank and job variables; all on a pod sized by IM2's rule
// (ADR 0023), which the kubelet admits and runs.
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { podName } from '../../src/api/v1alpha1/names.js';
import { type TestStack } from '../support/harness.js';
import { createJobs } from '../support/jobs.js';
import { localClaim } from '../support/local-volume.js';
import { describeOnRealNodes, shellJob, shellJobHandle, startRealStack, thenWait } from '../support/real-node.js';

describeOnRealNodes('IM2 parity inside a real container', () => {
  let stack: TestStack;
  const dirs: string[] = [];
  beforeAll(async () => {
    stack = await startRealStack({
      jobs: {
        sharedStorage: { claimName: 'shared' },
        modules: [
          { name: 'tool-a', claimName: 'modules', subPath: 'stacks/tool-a' },
          { name: 'tool-b', claimName: 'modules', subPath: 'stacks/tool-b' },
        ],
      },
    });
    const modules = await localClaim(stack.ns.kc, stack.ns.name, 'modules');
    const shared = await localClaim(stack.ns.kc, stack.ns.name, 'shared');
    dirs.push(modules, shared);
    for (const tool of ['tool-a', 'tool-b']) {
      mkdirSync(resolve(modules, 'stacks', tool), { recursive: true });
      writeFileSync(resolve(modules, 'stacks', tool, 'VERSION'), `${tool} 1.0\n`);
    }
    mkdirSync(resolve(shared, 'p-7/Data'), { recursive: true });
    writeFileSync(resolve(shared, 'p-7/Data/opened.txt'), 'the opened file\n');
    for (const p of ['p-7', 'p-7/Data', 'p-7/Data/opened.txt']) chownSync(resolve(shared, p), 11042, 11042);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    const core = stack?.ns.kc.makeApiClient(CoreV1Api);
    for (const c of ['modules', 'shared']) await core?.deletePersistentVolume({ name: `${stack.ns.name}-${c}` }).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  it('mounts the listed modules read-only, names their folder and the opened file, and sets the rank variables', async () => {
    const id = '90501';
    const script = `printf 'root %s\\n' "$UCLOUD_MODULES_ROOT"
printf 'a %s\\n' "$(cat /opt/modules/tool-a/VERSION)"
printf 'b %s\\n' "$(cat /opt/modules/tool-b/VERSION)"
if (echo x > /opt/modules/tool-a/new) 2>/dev/null; then echo 'module writable'; else echo 'module read-only'; fi
printf 'opened %s %s\\n' "$UCLOUD_OPEN_WITH_FILE" "$(cat "$UCLOUD_OPEN_WITH_FILE")"
printf 'ranks %s %s %s %s %s\\n' "$UCLOUD_RANK" "$VK_TASK_INDEX" "$VC_TASK_INDEX" "$UCLOUD_TASK_COUNT" "$VC_JOB_NUM"
printf 'job %s %s %s\\n' "$UCLOUD_JOB_ID" "$UCLOUD_URL_IS_PUBLIC" "$UCLOUD_METRICS_SAMPLE_INTERVAL"`;
    const job = shellJob(id, thenWait(script), { resources: [{ type: 'file', path: '/p-7/Data', readOnly: true }] }) as {
      specification: { openedFile?: string };
      status: { resolvedApplication: { invocation: { modules?: unknown } } };
    };
    job.status.resolvedApplication.invocation.modules = { mountPath: '/opt/modules', optional: ['tool-a', 'tool-b', 'not-at-this-site'] };
    job.specification.openedFile = '/p-7/Data/opened.txt';
    expect((await createJobs(stack, job)).status).toBe(200);
    const handle = shellJobHandle(stack, id, 1);
    const [out] = await handle.output();
    expect(out!.trim().split('\n')).toEqual([
      'root /opt/modules',
      'a tool-a 1.0',
      'b tool-b 1.0',
      'module read-only',
      'opened /work/Data/opened.txt the opened file',
      'ranks 0 0 0 1 1',
      `job ${id} false 0ms`,
    ]);
    // The pod the kubelet ran is sized by IM2's rule: 1 core less the reserve (the category's only
    // product has 1 core: 500 m), 1 GB.
    const pod = await stack.ns.kube.pods.get(stack.ns.name, podName(handle.name, 0));
    expect(pod?.spec?.containers[0]?.resources?.requests).toMatchObject({ cpu: '500m', memory: '1G' });
    await handle.finish();
  }, 180_000);
});
