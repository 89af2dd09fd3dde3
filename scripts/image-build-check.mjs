#!/usr/bin/env node
// Runs the Dockerfile's build without a Docker engine, as far as that is possible: the build
// context (the working tree minus .dockerignore) is copied to a clean temporary directory, each
// stage's COPY and RUN lines are executed there in order (the same npm commands the image build
// runs, parsed from the Dockerfile, not repeated here), the runtime stage is assembled from its
// COPY --from lines, and its ENTRYPOINT is started from the result: `--version`, then
// `--check-config` on the configuration the Helm chart renders (when helm is available).
// It also checks that the runtime stage carries no devDependencies and no test code.
//   node scripts/image-build-check.mjs [--keep] [--untracked]
//     --keep       leave the temporary directory
//     --untracked  also copy untracked files git does not ignore (default: tracked files only)
//     --head       the committed tree (HEAD) instead of the working copy's tracked files
//     --describe-runtime FILE  write the runtime stage (its root directory, base image, WORKDIR, ENV,
//                  USER, ENTRYPOINT, EXPOSE) to FILE as JSON and keep the directory (scripts/package
//                  builds the OCI layout from it; the caller removes it)
// What it cannot check: the base images themselves (the same Node major there and here: checked),
// USER/--chown (files are owned by whoever runs this), and distroless' missing shell.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const describeAt = process.argv.indexOf('--describe-runtime');
const describeFile = describeAt >= 0 ? resolve(process.argv[describeAt + 1] ?? '') : undefined;
const keep = process.argv.includes('--keep') || describeFile !== undefined;
const t0 = Date.now();
const say = (msg) => process.stdout.write(`image-build-check: [${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
class CheckFailed extends Error {}
/** Ends the check (the temporary directory is still removed on the way out). */
const fail = (msg) => {
  throw new CheckFailed(msg);
};

// --- the Dockerfile ------------------------------------------------------------------------
function parseDockerfile(text) {
  const lines = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (!current && /^\s*(#|$)/.test(raw)) continue;
    if (current && /^\s*#/.test(raw)) continue; // comment inside a continued instruction
    if (raw.endsWith('\\')) {
      current += raw.slice(0, -1) + ' ';
      continue;
    }
    lines.push((current + raw).trim());
    current = '';
  }
  if (current.trim()) lines.push(current.trim());
  return lines.map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l);
    if (!m) fail(`cannot parse Dockerfile line: ${l}`);
    return { op: m[1].toUpperCase(), args: m[2] };
  });
}

// --- the build context ---------------------------------------------------------------------
function dockerignore() {
  const file = join(ROOT, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(
      (p) =>
        new RegExp(
          `^${p
            .replace(/\/$/, '')
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')}(/|$)`,
        ),
    );
}

function copyContext(dest) {
  const ignored = dockerignore();
  if (process.argv.includes('--head')) {
    // The committed tree only (what CI checks out), whatever the working copy holds.
    mkdirSync(dest, { recursive: true });
    execFileSync('bash', ['-c', `git archive HEAD | tar -x -C "${dest}"`], { cwd: ROOT });
    for (const re of ignored) for (const f of readdirSync(dest)) if (re.test(f)) rmSync(join(dest, f), { recursive: true, force: true });
    return Number(execFileSync('bash', ['-c', 'git ls-tree -r HEAD --name-only | wc -l'], { cwd: ROOT, encoding: 'utf8' }).trim());
  }
  // Tracked files (as they are in the working tree), as a CI checkout has them; --untracked adds
  // files git does not ignore, which is what `docker build .` in a working copy would see.
  const list = process.argv.includes('--untracked') ? ['ls-files', '-co', '--exclude-standard', '-z'] : ['ls-files', '-z'];
  const files = execFileSync('git', list, { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
    .filter((f) => !ignored.some((re) => re.test(f) || re.test(basename(f))))
    .filter((f) => existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dest, f));
  }
  return files.length;
}

// --- executing stages ----------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'ucloud-operator-image-'));
const context = join(work, 'context');
const stages = [];
let stage;

/** A container path of the current stage on the host. */
const inStage = (s, p) => join(s.root, posix.isAbsolute(p) ? p : posix.join(s.workdir, p));

function expand(pattern, base) {
  if (!pattern.includes('*')) return [join(base, pattern)];
  const dir = join(base, dirname(pattern));
  const re = new RegExp(
    `^${basename(pattern)
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => re.test(n))
        .map((n) => join(dir, n))
    : [];
}

function copy(args) {
  const words = args.split(/\s+/);
  let from;
  const rest = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (w.startsWith('--chown=') || w.startsWith('--chmod=') || w === '--link') continue;
    else rest.push(w);
  }
  const dest = rest.pop();
  const source = from === undefined ? undefined : stages.find((s) => s.name === from);
  if (from !== undefined && !source) fail(`COPY --from=${from}: no such stage`);
  for (const pattern of rest) {
    const matches = source ? expand(pattern.replace(/^\//, ''), source.root) : expand(pattern, context);
    if (!matches.length) fail(`COPY ${pattern}: nothing matches (${source ? `stage ${source.name}` : 'build context'})`);
    for (const m of matches) {
      if (!existsSync(m)) fail(`COPY ${pattern}: ${m} does not exist`);
      const isDir = statSync(m).isDirectory();
      const target = dest.endsWith('/') || rest.length > 1 || (!isDir && dest === '.') ? join(inStage(stage, dest), basename(m)) : inStage(stage, dest);
      mkdirSync(isDir ? target : dirname(target), { recursive: true });
      cpSync(m, target, { recursive: true });
    }
  }
}

function runStep(cmd) {
  const cwd = inStage(stage, '.');
  mkdirSync(cwd, { recursive: true });
  const started = Date.now();
  const res = spawnSync('bash', ['-euo', 'pipefail', '-c', cmd], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: {
      ...process.env,
      ...stage.env,
      // Reuse this machine's npm cache; a cold cache still downloads from the registry.
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
      npm_config_loglevel: 'warn',
      NODE_OPTIONS: '',
    },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.status !== 0) fail(`RUN ${cmd} exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
  say(`stage ${stage.name}: RUN ${cmd} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

try {
  const n = copyContext(context);
  say(`build context: ${n} files in ${context}`);
  const instructions = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  for (const { op, args } of instructions) {
    switch (op) {
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        stage = { image: m[1], name: m[2] ?? String(stages.length), root: join(work, `stage-${stages.length}`), workdir: '/', env: {} };
        mkdirSync(stage.root, { recursive: true });
        stages.push(stage);
        say(`stage ${stage.name} (image ${stage.image})`);
        break;
      }
      case 'WORKDIR':
        stage.workdir = posix.isAbsolute(args) ? args : posix.join(stage.workdir, args);
        mkdirSync(inStage(stage, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[m[1]] = m[2].replace(/^"|"$/g, '');
        break;
      case 'COPY':
        copy(args);
        break;
      case 'RUN':
        runStep(args);
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'EXPOSE':
        stage.expose = [...(stage.expose ?? []), ...args.split(/\s+/)];
        break;
      case 'ENTRYPOINT':
      case 'CMD':
        stage[op.toLowerCase()] = JSON.parse(args);
        break;
      default:
        fail(`Dockerfile instruction ${op} is not understood by this check; teach it or change the Dockerfile`);
    }
  }

  // --- the runtime stage -------------------------------------------------------------------
  const runtime = stages[stages.length - 1];
  const app = inStage(runtime, '.');
  if (!runtime.entrypoint) fail('the last stage has no ENTRYPOINT');
  if (!/^\d+(:\d+)?$/.test(runtime.user ?? '')) fail(`the runtime USER must be numeric (runAsNonRoot), got ${runtime.user}`);
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  const modules = existsSync(join(app, 'node_modules')) ? readdirSync(join(app, 'node_modules')) : [];
  const scoped = (name) => existsSync(join(app, 'node_modules', name));
  for (const dep of Object.keys(pkg.dependencies ?? {})) if (!scoped(dep)) fail(`runtime node_modules lacks dependency ${dep}`);
  // Nothing the lockfile marks dev-only (devDependencies and what only they need) may ship.
  const lockOf = stages.map((s) => join(inStage(s, '.'), 'package-lock.json')).find((f) => existsSync(f));
  if (!lockOf) fail('no package-lock.json in any stage');
  const devOnly = Object.entries(JSON.parse(readFileSync(lockOf, 'utf8')).packages ?? {})
    .filter(([path, meta]) => path.startsWith('node_modules/') && meta.dev === true)
    .map(([path]) => path.slice('node_modules/'.length));
  const shippedDev = devOnly.filter((name) => !name.includes('/node_modules/') && scoped(name));
  if (shippedDev.length) fail(`runtime node_modules carries dev-only packages: ${shippedDev.slice(0, 10).join(', ')}`);
  for (const dev of ['typescript', 'jest', 'ts-jest']) if (scoped(dev)) fail(`runtime node_modules carries ${dev}`);
  const shipped = execFileSync('find', ['dist', '-type', 'f'], { cwd: app, encoding: 'utf8' }).split('\n').filter(Boolean);
  const testCode = shipped.filter((f) => /\.test\.js$|^dist\/(test|bench|dev|scripts)\//.test(f));
  if (testCode.length) fail(`runtime dist carries test/demo code: ${testCode.slice(0, 5).join(', ')}`);
  say(
    `runtime stage: ${modules.length} node_modules entries (${devOnly.length} dev-only packages left out), ${shipped.length} files in dist, user ${runtime.user}`,
  );

  // The entrypoint, as the image runs it. Its node binary is this machine's node here, so that node
  // must be the major version every stage of the image runs (scripts/node24 provisions it).
  const majors = [...new Set(stages.map((s) => /node(?:js)?:?(\d+)/.exec(s.image)?.[1]).filter(Boolean))];
  if (majors.length !== 1) fail(`the Dockerfile's stages name Node majors ${JSON.stringify(majors)}; expected one`);
  const here = process.versions.node.split('.')[0];
  if (here !== majors[0]) fail(`this check runs on node ${process.version}, the image on Node ${majors[0]}: source scripts/node24 first`);
  const [binary, ...entryArgs] = runtime.entrypoint;
  const node = /(^|\/)node$/.test(binary) ? process.execPath : binary;
  const env = { PATH: process.env.PATH, HOME: work, ...runtime.env };
  const boot = (args, extraEnv = {}) => spawnSync(node, [...entryArgs, ...args], { cwd: app, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });

  const version = boot(['--version']);
  if (version.status !== 0 || version.stdout.trim() !== `ucloud-operator ${pkg.version}`) {
    fail(`entrypoint --version: exit ${version.status}, stdout ${JSON.stringify(version.stdout)}, stderr ${version.stderr}`);
  }
  say(`entrypoint --version: ${version.stdout.trim()} (node ${process.version} here; the image has ${stages[stages.length - 1].image})`);

  // The configuration the chart renders, as the pod would see it (ConfigMap file + Secret files).
  const helm = (() => {
    try {
      const bin = execFileSync('bash', [join(ROOT, 'scripts/k8s-tools'), 'path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      return existsSync(join(bin, 'helm')) ? join(bin, 'helm') : undefined;
    } catch {
      return undefined;
    }
  })();
  let config;
  if (helm) {
    const rendered = execFileSync(helm, ['template', 'check', join(context, 'charts/ucloud-operator'), '--show-only', 'templates/configmap.yaml'], {
      encoding: 'utf8',
      env: { ...process.env, HELM_CACHE_HOME: join(work, 'helm'), HELM_CONFIG_HOME: join(work, 'helm'), HELM_DATA_HOME: join(work, 'helm') },
    });
    const m = /config\.json: \|\n\s+(\{.*\})\n/.exec(rendered);
    if (!m) fail(`cannot find config.json in the rendered ConfigMap:\n${rendered}`);
    config = m[1];
  } else {
    say('helm not built: checking a minimal configuration instead of the chart-rendered one');
    config = JSON.stringify({
      providerId: 'example',
      namespace: 'ucloud',
      ucloud: { coreUrl: 'https://cloud.sdu.dk' },
      products: [{ id: 'p', category: 'c', cpu: 1, memoryInGigs: 1 }],
    });
  }
  const etc = join(work, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'config.json'), config);
  writeFileSync(join(etc, 'refresh-token'), 'image-build-check-refresh-token');
  writeFileSync(join(etc, 'public-key'), 'image-build-check-public-key');
  const check = boot(['--check-config'], {
    UCLOUD_OPERATOR_CONFIG: join(etc, 'config.json'),
    UCLOUD_REFRESH_TOKEN_FILE: join(etc, 'refresh-token'),
    UCLOUD_PUBLIC_KEY_FILE: join(etc, 'public-key'),
    POD_NAME: 'image-build-check',
  });
  if (check.status !== 0 || !check.stdout.includes('Configuration is valid')) {
    fail(`entrypoint --check-config: exit ${check.status}\n${check.stdout}${check.stderr}`);
  }
  if (check.stdout.includes('image-build-check-refresh-token')) fail('--check-config printed the refresh token');
  say(`entrypoint --check-config: the ${helm ? 'chart-rendered' : 'minimal'} configuration is valid`);

  // The jinja init container's entry point, as job pods run it from this image (config.ts's
  // jobs.invocationRenderer.command: /app/dist/src/render-invocation/main.js) with only the
  // production node_modules.
  const renderEntry = join(app, 'dist/src/render-invocation/main.js');
  if (!existsSync(renderEntry)) fail('the image has no dist/src/render-invocation/main.js');
  const inv = join(work, 'invocation');
  mkdirSync(inv, { recursive: true });
  writeFileSync(join(inv, 't.j2'), 'echo {{ name }} rank={{ ucloud.rank }} {{ on | flag("--on") }}');
  writeFileSync(join(inv, 'v.json'), JSON.stringify({ name: "it's", on: true, ucloud: { rank: 0 } }));
  const rendered = spawnSync(node, [renderEntry, join(inv, 't.j2'), join(inv, 'v.json'), join(inv, 'job.sh')], {
    cwd: app,
    env: { ...env, UCLOUD_RANK: '2' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const wanted = `#!/usr/bin/env bash\necho 'it'"'"'s' rank=2 '--on'`;
  const script = existsSync(join(inv, 'job.sh')) ? readFileSync(join(inv, 'job.sh'), 'utf8') : '';
  if (rendered.status !== 0 || script !== wanted) {
    fail(`render-invocation: exit ${rendered.status}, script ${JSON.stringify(script)} (wanted ${JSON.stringify(wanted)})\n${rendered.stderr}`);
  }
  say('render-invocation entry point: renders a template into the job script');
  if (describeFile) {
    const { root, image, workdir, env: stageEnv, user, entrypoint, cmd, expose } = runtime;
    writeFileSync(describeFile, JSON.stringify({ work, root, image, workdir, env: stageEnv, user, entrypoint, cmd, expose: expose ?? [] }, null, 2));
    say(`runtime stage described in ${describeFile}`);
  }
  say(`OK (${relative(ROOT, join(ROOT, 'Dockerfile'))}: ${instructions.length} instructions, ${stages.length} stages)`);
} catch (e) {
  process.stderr.write(`image-build-check: FAILED: ${e instanceof CheckFailed ? e.message : (e?.stack ?? String(e))}\n`);
  process.exitCode = 1;
} finally {
  if (keep) say(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
