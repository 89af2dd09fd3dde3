// security: M8 / root applications — the job pods the operator builds, checked by the real
// kube-apiserver's Pod Security admission (server-side dry run, nothing is stored). In a jobs
// namespace labelled `restricted` (what the chart sets for jobs.rootApps "non-root") every pod of
// the hardened profile is admitted, also a v2 application's init container, and a root pod is
// refused; the root profiles' pods need `baseline` and pass it. So the label the chart derives
// from jobs.rootApps (templates/jobs-namespace.yaml) is the one that admits exactly the operator's pods.
import { jest } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { buildPod } from '../../src/controller/desired/pod-builder.js';
import { podSecurityLevel } from '../../src/controller/desired/root-profile.js';
import { rootProfile } from '../../src/config.js';
import { createTestNamespace, type TestNamespace } from '../support/harness.js';
import { kubectl } from '../support/ops.js';
import { unitConfig } from '../support/config.js';
import { job } from '../support/job-factory.js';

jest.setTimeout(60_000);

describe('security: M8 the jobs namespace Pod Security level admits exactly the operator pods', () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    ns = await createTestNamespace('psa');
  });
  afterAll(async () => ns?.delete());

  async function label(level: string): Promise<void> {
    const res = await kubectl(['label', 'namespace', ns.name, `pod-security.kubernetes.io/enforce=${level}`, '--overwrite']);
    if (res.code !== 0) throw new Error(res.stderr);
  }

  /** 'admitted', or the apiserver's reason. */
  async function admit(pod: V1Pod): Promise<string> {
    const body = { ...pod, metadata: { ...pod.metadata, namespace: ns.name, ownerReferences: undefined } };
    return ns.core.createNamespacedPod({ namespace: ns.name, body, dryRun: 'All' }).then(
      () => 'admitted',
      // The apiserver's Status message, without client-node's layers of JSON escaping.
      (e: Error) => e.message.replaceAll('\\', ''),
    );
  }

  const hardened = unitConfig();
  const im2 = unitConfig({ jobs: { rootApps: 'im2' } });
  const rootNoCaps = unitConfig({ jobs: { rootApps: 'root-no-capabilities' } });

  it('restricted admits the hardened pods, also a jinja job and a non-root job under im2, and refuses root pods', async () => {
    await label(podSecurityLevel(rootProfile(hardened)));
    expect(await admit(buildPod(job(), 0, hardened))).toBe('admitted');
    expect(await admit(buildPod(job({ invocationTemplate: { template: 'echo {{ 1 + 1 }}', values: '{}' } }), 0, hardened))).toBe('admitted');
    expect(await admit(buildPod(job(), 0, im2))).toBe('admitted');
    expect(await admit(buildPod(job({ runAsRoot: true }), 0, im2))).toMatch(/violates PodSecurity "restricted:latest.*allowPrivilegeEscalation != false/s);
    expect(await admit(buildPod(job({ runAsRoot: true }), 0, rootNoCaps))).toMatch(/violates PodSecurity "restricted:latest.*runAsNonRoot != true/s);
  });

  it('baseline admits the root profiles, IM2-style privilege escalation and default capabilities included', async () => {
    expect(podSecurityLevel(rootProfile(im2))).toBe('baseline');
    await label('baseline');
    expect(await admit(buildPod(job({ runAsRoot: true }), 0, im2))).toBe('admitted');
    expect(await admit(buildPod(job({ runAsRoot: true }), 0, rootNoCaps))).toBe('admitted');
    // baseline still refuses what no profile does: a privileged container.
    const privileged = buildPod(job({ runAsRoot: true }), 0, im2);
    privileged.spec!.containers[0]!.securityContext = { privileged: true };
    expect(await admit(privileged)).toMatch(/violates PodSecurity "baseline:latest/);
  });
});
