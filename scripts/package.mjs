#!/usr/bin/env node
// The image half of scripts/package: from the runtime stage image-build-check assembled (its
// description JSON), an OCI image layout (https://github.com/opencontainers/image-spec, layout 1.0)
// with ONE layer, the application: /app with package.json, node_modules (production only), dist and
// crds, owned 65532:65532 as the Dockerfile's COPY --chown makes them. The base image cannot be
// pulled here, so its layers are not in the layout: the image config and the manifest name it
// (org.opencontainers.image.base.name) and carry the runtime stage's WORKDIR, ENV, USER, ENTRYPOINT
// and EXPOSE. A machine with registry access makes it runnable by appending this layer to that base
// (e.g. `crane append -b <base> -f layer.tar.gz`, then `crane mutate` with the config's fields).
// The layer is reproducible: sorted entries, fixed owners, and mtimes at the commit's time.
// Also writes sbom.cdx.json (CycloneDX 1.5): every package in the runtime node_modules, read from
// the files that ship, with the lockfile's integrity hash and licence.
//   node scripts/package.mjs DESCRIBE.json OUTDIR
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const [describeFile, outDir] = process.argv.slice(2);
if (!describeFile || !outDir) {
  process.stderr.write('usage: package.mjs DESCRIBE.json OUTDIR\n');
  process.exit(2);
}
const say = (msg) => process.stdout.write(`package: ${msg}\n`);
const runtime = JSON.parse(readFileSync(describeFile, 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

try {
  const revision = git('rev-parse', 'HEAD');
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? git('log', '-1', '--format=%ct'));
  const created = new Date(epoch * 1000).toISOString();
  const [uid, gid] = String(runtime.user).split(':');
  const app = runtime.workdir.replace(/^\//, ''); // "app"

  // --- the layer: WORKDIR as root (Docker creates it so), its contents as the COPY --chown user
  const tarFile = join(runtime.work, 'layer.tar');
  const common = [
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--numeric-owner',
    '-C',
    runtime.root,
  ];
  execFileSync('tar', ['-cf', tarFile, ...common, '--owner=0', '--group=0', '--no-recursion', app]);
  const contents = readdirSync(join(runtime.root, app))
    .sort()
    .map((f) => `${app}/${f}`);
  execFileSync('tar', ['-rf', tarFile, ...common, `--owner=${uid}`, `--group=${gid ?? uid}`, ...contents]);
  const tar = readFileSync(tarFile);
  const layer = gzipSync(tar, { level: 9 }); // gzip header without name or time: reproducible

  // --- the OCI layout
  const oci = join(outDir, `ucloud-operator-image-${pkg.version}.oci`);
  rmSync(oci, { recursive: true, force: true });
  const blobs = join(oci, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (buf) => {
    const digest = sha256(buf);
    writeFileSync(join(blobs, digest), buf);
    return { digest: `sha256:${digest}`, size: buf.length };
  };
  const layerBlob = blob(layer);
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
  const labels = {
    'org.opencontainers.image.title': 'ucloud-operator',
    'org.opencontainers.image.version': pkg.version,
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.licenses': pkg.license,
    'org.opencontainers.image.base.name': runtime.image,
    'org.opencontainers.image.created': created,
  };
  const config = {
    created,
    architecture: arch,
    os: 'linux',
    config: {
      User: runtime.user,
      WorkingDir: runtime.workdir,
      Env: Object.entries(runtime.env).map(([k, v]) => `${k}=${v}`),
      Entrypoint: runtime.entrypoint,
      ...(runtime.cmd ? { Cmd: runtime.cmd } : {}),
      ExposedPorts: Object.fromEntries(runtime.expose.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])),
      Labels: labels,
    },
    // Only the application layer: the base image's layers come before it once it is appended there.
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
    history: [{ created, created_by: `scripts/package: the Dockerfile's runtime stage on top of ${runtime.image} (base layers not included)` }],
  };
  const configBlob = blob(Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerBlob }],
    annotations: { ...labels, 'org.opencontainers.image.description': `Application layer only; append it to ${runtime.image} to run it` },
  };
  const manifestBlob = blob(Buffer.from(JSON.stringify(manifest)));
  writeFileSync(join(oci, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(oci, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifestBlob,
          platform: { architecture: arch, os: 'linux' },
          annotations: { 'org.opencontainers.image.ref.name': pkg.version },
        },
      ],
    }),
  );
  say(
    `OCI layout ${relative(process.cwd(), oci)}: manifest ${manifestBlob.digest}, app layer ${layerBlob.digest} (${(layer.length / 1e6).toFixed(1)} MB, ${(tar.length / 1e6).toFixed(1)} MB unpacked), base ${runtime.image} named, not included`,
  );

  // --- the SBOM: what ships, read from the runtime node_modules
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages ?? {};
  const modulesRoot = join(runtime.root, app);
  const components = [];
  const walk = (dir) => {
    const nm = join(dir, 'node_modules');
    if (!existsSync(nm)) return;
    for (const entry of readdirSync(nm).sort()) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@')
        ? readdirSync(join(nm, entry))
            .sort()
            .map((n) => `${entry}/${n}`)
        : [entry];
      for (const name of names) {
        const at = join(nm, name);
        const manifestFile = join(at, 'package.json');
        if (!existsSync(manifestFile)) continue;
        const meta = JSON.parse(readFileSync(manifestFile, 'utf8'));
        const lockPath = relative(modulesRoot, at);
        const locked = lock[lockPath] ?? {};
        if (locked.dev === true) throw new Error(`${lockPath} is dev-only in the lockfile but ships`);
        const purl = `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${meta.version}`;
        const hashes = [];
        const m = /^sha512-(.+)$/.exec(locked.integrity ?? '');
        if (m) hashes.push({ alg: 'SHA-512', content: Buffer.from(m[1], 'base64').toString('hex') });
        const license = locked.license ?? (typeof meta.license === 'string' ? meta.license : undefined);
        components.push({
          type: 'library',
          'bom-ref': `${purl}#${lockPath}`,
          name,
          version: meta.version,
          purl,
          ...(hashes.length ? { hashes } : {}),
          ...(license ? { licenses: [{ expression: license }] } : {}),
          properties: [{ name: 'ucloud-operator:path', value: `${runtime.workdir}/${lockPath}` }],
        });
        walk(at);
      }
    }
  };
  walk(modulesRoot);
  const sbom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${[8, 4, 4, 4, 12]
      .reduce((acc, n, i, all) => {
        const h = sha256(`${revision}:${manifestBlob.digest}`);
        const start = all.slice(0, i).reduce((a, b) => a + b, 0);
        return [...acc, h.slice(start, start + n)];
      }, [])
      .join('-')}`,
    version: 1,
    metadata: {
      timestamp: created,
      tools: { components: [{ type: 'application', name: 'scripts/package.mjs', version: pkg.version }] },
      component: {
        type: 'container',
        name: 'ucloud-operator',
        version: pkg.version,
        'bom-ref': `ucloud-operator@${manifestBlob.digest}`,
        properties: [{ name: 'oci:manifest', value: manifestBlob.digest }],
      },
    },
    components: [
      {
        type: 'container',
        'bom-ref': runtime.image,
        name: runtime.image,
        description: 'base image: its layers and packages are not part of this layout or this list',
      },
      ...components,
    ],
  };
  const sbomFile = join(outDir, `ucloud-operator-${pkg.version}.sbom.cdx.json`);
  writeFileSync(sbomFile, JSON.stringify(sbom, null, 2) + '\n');
  say(`SBOM ${relative(process.cwd(), sbomFile)}: ${components.length} npm packages (CycloneDX 1.5)`);
} finally {
  rmSync(runtime.work, { recursive: true, force: true });
}
