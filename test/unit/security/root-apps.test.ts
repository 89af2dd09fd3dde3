// security: root applications (docs/adr/0017). An application that asks for root
// runs as IM2 runs it only under jobs.rootApps `im2`: the image's user, privilege escalation and the
// runtime's default capabilities. Every other job, and every job under the other profiles, keeps
// the hardened context (no escalation, every capability dropped), and the namespace's Pod Security
// level follows the profile. The pods themselves are checked against the real Pod Security
// admission in test/integration/security-m8-pod-security.test.ts and run on a real node in
// test/realnode/security-root-apps.test.ts.
import { podSecurityLevel } from '../../../src/controller/desired/root-profile.js';
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { rootProfile } from '../../../src/config.js';
import { jobToSpec } from '../../../src/translate/job-to-spec.js';
import type { Job } from '../../../src/ucloud/job.js';
import { unitConfig } from '../../support/config.js';
import { fixtureJob } from '../../support/fixtures.js';
import { job } from '../../support/job-factory.js';

const HARDENED = { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } };

function appAsking(runAsRoot: boolean): Job {
  const j = structuredClone(fixtureJob('create-simple-batch.json'));
  j.status!.resolvedApplication!.invocation.container = { changeWorkingDirectory: true, runAsRoot, runAsRealUser: false };
  return j;
}

describe('security: root applications follow jobs.rootApps', () => {
  it('reads the profile from rootApps, the legacy allowRunAsRoot as root-no-capabilities, and refuses the contradiction', () => {
    expect(rootProfile(unitConfig())).toBe('non-root');
    expect(rootProfile(unitConfig({ jobs: { allowRunAsRoot: true } }))).toBe('root-no-capabilities');
    expect(rootProfile(unitConfig({ jobs: { rootApps: 'im2' } }))).toBe('im2');
    expect(rootProfile(unitConfig({ jobs: { allowRunAsRoot: true, rootApps: 'im2' } }))).toBe('im2');
    expect(() => unitConfig({ jobs: { allowRunAsRoot: true, rootApps: 'non-root' } })).toThrow(/contradicts/);
    expect(() => unitConfig({ jobs: { rootApps: 'always' } })).toThrow();
  });

  it.each([
    ['non-root', false, false],
    ['non-root', true, false],
    ['root-no-capabilities', false, false],
    ['root-no-capabilities', true, true],
    ['im2', false, false],
    ['im2', true, true],
  ] as const)('under %s an application asking for root=%s runs as root=%s', (profile, asks, root) => {
    expect(jobToSpec(appAsking(asks), unitConfig({ jobs: { rootApps: profile } })).runAsRoot).toBe(root);
  });

  it('gives a root job under im2 privilege escalation and the runtime default capabilities, as IM2 does', () => {
    const pod = buildPod(job({ runAsRoot: true }), 0, unitConfig({ jobs: { rootApps: 'im2' } }));
    // IM2: RunAsNonRoot=false, AllowPrivilegeEscalation=true, no capabilities field, no user.
    expect(pod.spec?.securityContext).toEqual({
      runAsNonRoot: false,
      fsGroup: 11042,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.spec?.containers[0]?.securityContext).toEqual({ allowPrivilegeEscalation: true, privileged: false });
    // Never privileged, never extra capabilities, never host namespaces: baseline holds.
    expect(pod.spec).not.toHaveProperty('hostNetwork');
    expect(pod.spec).not.toHaveProperty('hostPID');
  });

  it('keeps the hardened profile for non-root jobs under im2 and for root jobs under root-no-capabilities', () => {
    const nonRoot = buildPod(job({ runAsRoot: false }), 0, unitConfig({ jobs: { rootApps: 'im2' } }));
    expect(nonRoot.spec?.containers[0]?.securityContext).toEqual(HARDENED);
    expect(nonRoot.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 11042, runAsGroup: 11042 });
    const rootNoCaps = buildPod(job({ runAsRoot: true }), 0, unitConfig({ jobs: { rootApps: 'root-no-capabilities' } }));
    expect(rootNoCaps.spec?.containers[0]?.securityContext).toEqual(HARDENED);
    // A job stored as root before the site went back to non-root still gets no capabilities.
    const stored = buildPod(job({ runAsRoot: true }), 0, unitConfig());
    expect(stored.spec?.containers[0]?.securityContext).toEqual(HARDENED);
  });

  it('needs Pod Security baseline for the root profiles and restricted otherwise', () => {
    expect(podSecurityLevel('non-root')).toBe('restricted');
    expect(podSecurityLevel('root-no-capabilities')).toBe('baseline');
    expect(podSecurityLevel('im2')).toBe('baseline');
  });
});
