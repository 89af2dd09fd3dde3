// security: M5 — a job's scratch disk is bounded (ephemeral-storage requests = limits per product,
// a sizeLimit on every emptyDir), users cannot steer the NVIDIA runtime through NVIDIA_* env, and a
// pod without GPUs sees none. security: L11 — `$(VAR)` in user text is not expanded by the kubelet.
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { unitConfig } from '../../support/config.js';
import { gpuJob, job } from '../../support/job-factory.js';

/** The kubelet's expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` is `$`,
 *  `$(NAME)` is the variable's value when it is defined. */
function kubeletExpand(text: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$' || i + 1 >= text.length) {
      out += text[i];
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      const name = close < 0 ? undefined : text.slice(i + 2, close);
      if (name !== undefined && name in vars) {
        out += vars[name];
        i = close;
      } else out += text[i];
    } else out += text[i];
  }
  return out;
}

describe('security: M5 ephemeral storage and NVIDIA environment', () => {
  it('requests and limits ephemeral storage per product, with a default, and sizes /work', () => {
    const config = unitConfig({ jobs: { ephemeralStorage: { default: '30Gi', perProduct: { 'u1-gpu-1': '200Gi' } } } });
    const small = buildPod(job(), 0, config);
    expect(small.spec!.containers[0]!.resources!.limits!['ephemeral-storage']).toBe('30Gi');
    expect(small.spec!.containers[0]!.resources!.requests!['ephemeral-storage']).toBe('30Gi');
    expect(small.spec!.volumes!.find((v) => v.name === 'work')!.emptyDir).toEqual({ sizeLimit: '30Gi' });
    const big = buildPod(gpuJob(), 0, config);
    expect(big.spec!.containers[0]!.resources!.limits!['ephemeral-storage']).toBe('200Gi');
    // Every emptyDir is bounded.
    for (const v of [...small.spec!.volumes!, ...big.spec!.volumes!]) if (v.emptyDir) expect(v.emptyDir.sizeLimit).toBeDefined();
  });

  it('drops NVIDIA_* from the user, and hides GPUs from pods without any', () => {
    const env = [
      { name: 'NVIDIA_VISIBLE_DEVICES', value: 'all' },
      { name: 'nvidia_driver_capabilities', value: 'all' },
      { name: 'NVIDIA_REQUIRE_CUDA', value: 'cuda>=1' },
      { name: 'KEEP', value: '1' },
    ];
    const cpu = buildPod(job({ env }), 0, unitConfig()).spec!.containers[0]!.env!;
    expect(cpu.filter((e) => e.name.toUpperCase().startsWith('NVIDIA_'))).toEqual([{ name: 'NVIDIA_VISIBLE_DEVICES', value: 'void' }]);
    expect(cpu.find((e) => e.name === 'KEEP')).toEqual({ name: 'KEEP', value: '1' });
    const gpu = buildPod(gpuJob({ env }), 0, unitConfig()).spec!.containers[0]!.env!;
    // The device plugin decides which GPUs a GPU pod sees; the user does not.
    expect(gpu.filter((e) => e.name.toUpperCase().startsWith('NVIDIA_'))).toEqual([]);
  });
});

describe('security: L11 $(VAR) in user text reaches the process verbatim', () => {
  it('escapes every $ so the kubelet expansion gives back what the user wrote', () => {
    const texts = ['$(UCLOUD_JOB_ID)', '$$(X)', 'a$b', 'cost: $5', '$(', '$', '$$', 'x$(HOME)y$(UCLOUD_RANK)'];
    const pod = buildPod(job({ command: ['sh', ...texts], env: texts.map((value, i) => ({ name: `V${i}`, value })) }), 0, unitConfig());
    const c = pod.spec!.containers[0]!;
    const vars = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? '']));
    expect(c.command!.slice(1).map((t) => kubeletExpand(t, vars))).toEqual(texts);
    expect(texts.map((_, i) => kubeletExpand(vars[`V${i}`]!, vars))).toEqual(texts);
  });
});
