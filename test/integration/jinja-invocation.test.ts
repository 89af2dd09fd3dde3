// A v2 (jinja) application on the real control plane (kwok nodes: no container runs here): the job
// is accepted, its ConfigMap carries the template and IM2's values, every rank's pod renders it in
// an init container of the operator's image and its user container runs the rendered script. The
// ConfigMap as the apiserver stored it, fed to the entry point, gives IM2's script for each rank.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configMapName, podName } from '../../src/api/v1alpha1/names.js';
import { RENDER_CONTAINER } from '../../src/controller/desired/invocation-init.js';
import { USER_CONTAINER } from '../../src/api/v1alpha1/names.js';
import { SCRIPT_DIR, SCRIPT_PATH, TEMPLATE_FILE, TEMPLATE_KEY, VALUES_FILE, VALUES_KEY } from '../../src/render-invocation/layout.js';
import { main } from '../../src/render-invocation/main.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { im2Output, jinjaJobJson } from '../support/jinja-fixtures.js';
import { boundSharedClaim, createJobs, crWhen, deletePersistentVolume, runningPods } from '../support/jobs.js';

const CLAIM = 'shared-files';
const RENDERER = 'registry.example/ucloud-operator:0.1.0';

describe('a v2 (jinja) application', () => {
  let stack: TestStack;
  let dir: string;
  beforeEach(async () => {
    stack = await startStack({
      // core2 marks every v2 application runAsRoot (app_yaml.go), so a site must allow it.
      jobs: { allowRunAsRoot: true, sharedStorage: { claimName: CLAIM }, invocationRenderer: { image: RENDERER } },
    });
    await boundSharedClaim(stack.ns.kc, stack.ns.name, CLAIM);
    dir = mkdtempSync(join(tmpdir(), 'jinja-it-'));
  });
  afterEach(async () => {
    await stack?.stop();
    await deletePersistentVolume(stack.ns.kc, stack.ns.name, CLAIM);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('renders in each pod and runs the script', async () => {
    const { core, ns } = stack;
    const job = jinjaJobJson('v2-terminal');
    const id = String(job.id);
    const name = `j-${id}`;
    expect(await createJobs(stack, job)).toEqual({ status: 200, body: { responses: [null] } });

    const cr = await crWhen(stack, id, (j) => j.spec.invocationTemplate !== undefined, 'the UCloudJob');
    expect(cr.spec.command).toEqual([SCRIPT_PATH]);
    const im2 = im2Output('v2-terminal', 2);

    const cm = await eventually(() => ns.kube.configMaps.get(ns.name, configMapName(name)), 'the ConfigMap');
    expect(cm.data?.[TEMPLATE_KEY]).toBe(im2.template);
    expect(JSON.parse(cm.data?.[VALUES_KEY] ?? '{}')).toEqual(im2.values);

    const pods = await runningPods(stack, id, 2);
    for (const [rank, pod] of pods.entries()) {
      expect(pod.metadata?.name).toBe(podName(name, rank));
      const init = pod.spec?.initContainers ?? [];
      expect(init.map((c) => c.name)).toEqual([RENDER_CONTAINER]);
      expect(init[0]?.image).toBe(RENDERER);
      expect(init[0]?.command?.slice(-3)).toEqual([TEMPLATE_FILE, VALUES_FILE, SCRIPT_PATH]);
      expect(init[0]?.env).toEqual([{ name: 'UCLOUD_RANK', value: String(rank) }]);
      const user = pod.spec?.containers.find((c) => c.name === USER_CONTAINER);
      expect(user?.command).toEqual([SCRIPT_PATH]);
      const scriptVolume = init[0]?.volumeMounts?.find((m) => m.mountPath === SCRIPT_DIR)?.name;
      expect(user?.volumeMounts?.find((m) => m.mountPath === SCRIPT_DIR)).toMatchObject({ name: scriptVolume, readOnly: true });
      expect(pod.spec?.volumes?.find((v) => v.name === scriptVolume)?.emptyDir).toBeDefined();

      // What this rank's init container would write, from the ConfigMap as stored.
      const template = join(dir, TEMPLATE_KEY);
      const values = join(dir, VALUES_KEY);
      writeFileSync(template, cm.data![TEMPLATE_KEY]!);
      writeFileSync(values, cm.data![VALUES_KEY]!);
      const env = Object.fromEntries((init[0]?.env ?? []).map((e) => [e.name, e.value]));
      const out = join(dir, `job-${rank}.sh`);
      expect(main([template, values, out], env)).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(im2.scripts[rank]);
    }

    await core.waitFor(() => core.jobStates(id).includes('RUNNING'), 60_000, 'RUNNING at UCloud/Core');
  });
});
