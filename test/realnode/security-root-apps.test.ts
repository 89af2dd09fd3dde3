// Root applications on a real node (docs/adr/0017). Under jobs.rootApps "im2" an
// application that asks for root runs as UCloud's IM2 runs it, and installs a package with its
// package manager: busybox's dpkg fetches a .deb over the pod network from a local mirror (another
// job of the same owner, declared as its peer "mirror", serving with busybox httpd: nothing leaves
// the machine) and installs it; the package's postinst chowns its state to 11042, which needs the
// runtime's default capabilities. In the same site, an application that does not ask for root
// keeps the hardened profile and cannot install anything, and under the old root profile
// ("root-no-capabilities", what jobs.allowRunAsRoot always meant) the same install fails at the
// chown. The namespace carries Pod Security `baseline`, which the chart sets for the root profiles.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestStack } from '../support/harness.js';
import { kubectl } from '../support/ops.js';
import { describeOnRealNodes, IMAGES, keyedLines, runShellJob, startRealStack, thenWait } from '../support/real-node.js';
import { runningPods } from '../support/jobs.js';

const PKG = 'ucloud-hello_1.0_all.deb';

/** A real .deb (dpkg-deb on this machine): a program in /usr/bin and a postinst that needs CAP_CHOWN. */
function buildPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ucloud-deb-'));
  try {
    const root = join(dir, 'pkg');
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(
      join(root, 'DEBIAN/control'),
      'Package: ucloud-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: ucloud-operator tests <tests@invalid>\nDescription: a package a root application installs from the test mirror\n',
    );
    writeFileSync(
      join(root, 'DEBIAN/postinst'),
      '#!/bin/sh\nset -e\nmkdir -p /var/lib/ucloud-hello\necho installed > /var/lib/ucloud-hello/state\nchown -R 11042:11042 /var/lib/ucloud-hello\n',
    );
    writeFileSync(join(root, 'usr/bin/ucloud-hello'), '#!/bin/sh\necho hello from a package\n');
    chmodSync(join(root, 'DEBIAN/postinst'), 0o755);
    chmodSync(join(root, 'usr/bin/ucloud-hello'), 0o755);
    execFileSync('dpkg-deb', ['-Zgzip', '--root-owner-group', '--build', root, join(dir, PKG)], { stdio: 'ignore' });
    return readFileSync(join(dir, PKG)).toString('base64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The mirror: serves the package on port 8080 of its pod. */
const mirrorScript = (deb: string) => `mkdir -p /tmp/srv && echo '${deb}' | base64 -d > /tmp/srv/${PKG} && exec httpd -f -p 8080 -h /tmp/srv`;

/** What a root application's setup does: download from the mirror, install, use. */
const INSTALL = `wget -q -O /tmp/pkg.deb http://mirror:8080/${PKG}; echo "fetch $?"
mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates 2>/dev/null && touch /var/lib/dpkg/status 2>/dev/null
dpkg -i /tmp/pkg.deb >/dev/null 2>&1; echo "dpkg $?"
printf 'uid %s\\n' "$(id -u)"
printf 'run %s\\n' "$(ucloud-hello 2>/dev/null || echo none)"
printf 'owner %s\\n' "$(stat -c %u:%g /var/lib/ucloud-hello/state 2>/dev/null || echo none)"
printf 'capeff %s\\n' "$(grep CapEff /proc/self/status | tr -d '\\t' | cut -d: -f2)"`;

describeOnRealNodes('security: root applications on a real node', () => {
  let deb = '';
  beforeAll(() => {
    deb = buildPackage();
  });

  async function withMirror(stack: TestStack, mirrorId: string): Promise<{ finish(): Promise<void> }> {
    const mirror = await runShellJob(stack, mirrorId, mirrorScript(deb));
    await runningPods(stack, mirrorId, 1, 90_000);
    return mirror;
  }

  async function install(stack: TestStack, id: string, mirrorId: string, runAsRoot: boolean): Promise<Record<string, string>> {
    const job = await runShellJob(stack, id, thenWait(INSTALL), {
      image: IMAGES.root,
      runAsRoot,
      resources: [{ type: 'peer', hostname: 'mirror', jobId: mirrorId }],
    });
    const [out] = await job.output(120_000);
    await job.finish();
    return keyedLines(out!);
  }

  describe('jobs.rootApps "im2"', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startRealStack({ jobs: { rootApps: 'im2' } });
      // The level the chart gives the jobs namespace for a root profile (templates/jobs-namespace.yaml).
      const res = await kubectl(['label', 'namespace', stack.ns.name, 'pod-security.kubernetes.io/enforce=baseline', '--overwrite']);
      if (res.code !== 0) throw new Error(res.stderr);
    });
    afterAll(async () => stack?.stop(), 120_000);

    it('a root application installs a package from the local mirror with dpkg; a non-root one cannot', async () => {
      const mirror = await withMirror(stack, '90801');
      const root = await install(stack, '90802', '90801', true);
      const nonRoot = await install(stack, '90803', '90801', false);
      await mirror.finish();
      process.stdout.write(`root apps (im2): root ${JSON.stringify(root)}; non-root ${JSON.stringify(nonRoot)}\n`);
      // Root, with the runtime's default capabilities (not 0), installed and ran the package.
      expect(root).toMatchObject({ fetch: '0', dpkg: '0', uid: '0', run: 'hello from a package', owner: '11042:11042' });
      expect(root.capeff).not.toBe('0000000000000000');
      // The hardened profile: uid 11042, no capabilities, nothing installed.
      expect(nonRoot).toMatchObject({ fetch: '0', uid: '11042', run: 'none', owner: 'none', capeff: '0000000000000000' });
      expect(nonRoot.dpkg).not.toBe('0');
    }, 420_000);
  });

  describe('jobs.rootApps "root-no-capabilities" (the old allowRunAsRoot)', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startRealStack({ jobs: { allowRunAsRoot: true } });
    });
    afterAll(async () => stack?.stop(), 120_000);

    it('runs as root without capabilities: the package manager fails where it needs them', async () => {
      const mirror = await withMirror(stack, '90804');
      const root = await install(stack, '90805', '90804', true);
      await mirror.finish();
      process.stdout.write(`root apps (root-no-capabilities): ${JSON.stringify(root)}\n`);
      expect(root).toMatchObject({ fetch: '0', uid: '0', capeff: '0000000000000000' });
      // The postinst's chown to 11042 needs CAP_CHOWN: it fails, and so does the install.
      expect(root.dpkg).not.toBe('0');
      expect(root.owner).not.toBe('11042:11042');
    }, 300_000);
  });
});
