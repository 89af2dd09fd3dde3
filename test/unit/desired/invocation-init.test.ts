// A jinja job's pods: the init container renders in the pod from the ConfigMap's two keys into a
// per-pod emptyDir; the user container runs the script from it, read-only; /etc/ucloud keeps only
// the rank files. Other jobs' pods are unchanged.
import { RENDER_CONTAINER } from '../../../src/controller/desired/invocation-init.js';
import { USER_CONTAINER } from '../../../src/api/v1alpha1/names.js';
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { configMap, rankFiles } from '../../../src/controller/desired/rank-files.js';
import { SCRIPT_DIR, SCRIPT_PATH, TEMPLATE_FILE, TEMPLATE_KEY, VALUES_FILE, VALUES_KEY } from '../../../src/render-invocation/layout.js';
import { jinjaConfig } from '../../support/jinja-fixtures.js';
import { job } from '../../support/job-factory.js';

const config = jinjaConfig({ jobs: { invocationRenderer: { image: 'registry.example/ucloud-operator:1.2.3' } } });
const jinja = job({ replicas: 2, command: [SCRIPT_PATH], invocationTemplate: { template: 'echo {{ ucloud.rank }}', values: '{"ucloud":{"rank":0}}' } });

describe('jinja pods', () => {
  it('the ConfigMap carries the template and the values', () => {
    const data = configMap(jinja, config).data!;
    expect(data[TEMPLATE_KEY]).toBe('echo {{ ucloud.rank }}');
    expect(data[VALUES_KEY]).toBe('{"ucloud":{"rank":0}}');
  });

  it.each([0, 1])('rank %i renders in an init container of the operator image, as a non-root user', (rank) => {
    const pod = buildPod(jinja, rank, config);
    const [init, ...more] = pod.spec!.initContainers!;
    expect(more).toHaveLength(0);
    expect(init!.name).toBe(RENDER_CONTAINER);
    expect(init!.image).toBe('registry.example/ucloud-operator:1.2.3');
    expect(init!.command).toEqual(['/nodejs/bin/node', '/app/dist/src/render-invocation/main.js', TEMPLATE_FILE, VALUES_FILE, SCRIPT_PATH]);
    expect(init!.env).toEqual([{ name: 'UCLOUD_RANK', value: String(rank) }]);
    expect(init!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(init!.resources!.requests).toEqual(init!.resources!.limits);

    const vols = new Map(pod.spec!.volumes!.map((v) => [v.name, v]));
    const input = init!.volumeMounts!.find((m) => m.mountPath + '/' + TEMPLATE_KEY === TEMPLATE_FILE)!;
    expect(input.readOnly).toBe(true);
    expect(
      vols
        .get(input.name)!
        .configMap!.items!.map((i) => i.key)
        .sort(),
    ).toEqual([TEMPLATE_KEY, VALUES_KEY].sort());
    const script = init!.volumeMounts!.find((m) => m.mountPath === SCRIPT_DIR)!;
    expect(vols.get(script.name)!.emptyDir).toBeDefined();

    const user = pod.spec!.containers.find((c) => c.name === USER_CONTAINER)!;
    expect(user.command).toEqual([SCRIPT_PATH]);
    expect(user.volumeMounts).toContainEqual({ name: script.name, mountPath: SCRIPT_DIR, readOnly: true });
    expect(user.volumeMounts!.some((m) => m.name === input.name)).toBe(false);
  });

  it('/etc/ucloud lists the rank files only', () => {
    const pod = buildPod(jinja, 0, config);
    const etc = pod.spec!.volumes!.find((v) => v.name === 'ucloud-etc')!;
    const keys = etc.projected!.sources!.flatMap((s) => s.configMap?.items?.map((i) => i.key) ?? []);
    expect(keys.sort()).toEqual(Object.keys(rankFiles(jinja, config)).sort());
  });

  it('other jobs get no init container and no extra keys', () => {
    const plain = job();
    expect(buildPod(plain, 0, config).spec!.initContainers).toBeUndefined();
    expect(Object.keys(configMap(plain, config).data!)).not.toContain(TEMPLATE_KEY);
    const etc = buildPod(plain, 0, config).spec!.volumes!.find((v) => v.name === 'ucloud-etc')!;
    expect(etc.projected!.sources![0]!.configMap!.items).toBeUndefined();
  });

  it('a stored jinja job without a renderer image is not run', () => {
    const noImage = jinjaConfig({ jobs: {} });
    expect(() => buildPod(jinja, 0, noImage)).toThrow(/invocationRenderer.image/);
  });
});
