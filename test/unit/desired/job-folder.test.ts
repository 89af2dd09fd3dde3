// What a job folder does to a rank's pod (src/controller/desired/job-folder.ts): /work from the
// folder's claim at its subPath, JobParameters.json for rank 0 only (from the ConfigMap, never in
// /etc/ucloud), the log wrapper in front of the unquoted argv; and the wrapper itself, run by this
// machine's /bin/sh: output both in the file and on stdout, the command's own exit status, argv
// passed through byte for byte.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOB_PARAMETERS_DIR, JOB_PARAMETERS_KEY, LOG_WRAPPER } from '../../../src/controller/desired/job-folder.js';
import { logReaderPod, logReaderPolicy } from '../../../src/controller/desired/log-reader.js';
import { USER_CONTAINER } from '../../../src/api/v1alpha1/names.js';
import { buildPod } from '../../../src/controller/desired/pod-builder.js';
import { configMap } from '../../../src/controller/desired/rank-files.js';
import { unitConfig } from '../../support/config.js';
import { job } from '../../support/job-factory.js';

const config = unitConfig({ jobs: { jobFolder: { claimName: 'ucloud-home' } } });
const FOLDER = { claimName: 'ucloud-home', subPath: 'home/user/Jobs/Acme batch/54112', ucloudPath: '/home-user/Jobs/Acme batch/54112' };
const PARAMS = JSON.stringify({ siteVersion: 3, request: { name: 'run $(id)' } });
const withFolder = (replicas = 2) => job({ jobFolder: FOLDER, jobParameters: PARAMS, replicas, command: ['echo', 'a b', '$(HOME)', "it's"] });
const userContainer = (rank: number, j = withFolder()) => buildPod(j, rank, config).spec!.containers.find((c) => c.name === USER_CONTAINER)!;

describe('a rank of a job with a job folder', () => {
  it('mounts the folder at /work from its claim and subPath', () => {
    const pod = buildPod(withFolder(), 1, config);
    expect(pod.spec!.volumes).toContainEqual({ name: 'work', persistentVolumeClaim: { claimName: 'ucloud-home' } });
    expect(userContainer(1).volumeMounts).toContainEqual({ name: 'work', mountPath: '/work', subPath: FOLDER.subPath });
  });

  it('runs the argv behind the log wrapper, unquoted, with every $ escaped for the kubelet', () => {
    expect(userContainer(0).command).toEqual(['/bin/sh', '-c', LOG_WRAPPER.split('$').join('$$'), 'ucloud-job', 'echo', 'a b', '$$(HOME)', "it's"]);
  });

  it('gives JobParameters.json to rank 0 only, and keeps it out of /etc/ucloud', () => {
    expect(configMap(withFolder(), config).data?.[JOB_PARAMETERS_KEY]).toBe(PARAMS);
    const mount = { name: 'job-parameters', mountPath: JOB_PARAMETERS_DIR, readOnly: true };
    expect(userContainer(0).volumeMounts).toContainEqual(mount);
    expect(userContainer(1).volumeMounts).not.toContainEqual(mount);
    const etc = buildPod(withFolder(), 0, config).spec!.volumes!.find((v) => v.name === 'ucloud-etc')!;
    const items = etc.projected!.sources![0]!.configMap!.items!.map((i) => i.key);
    expect(items).not.toContain(JOB_PARAMETERS_KEY);
    expect(items).toContain('nodes.txt');
  });

  it('is as before without a job folder: emptyDir /work, the bare argv, no parameters', () => {
    const plain = job({ command: ['echo', 'hi'] });
    const c = buildPod(plain, 0, config).spec!.containers[0]!;
    expect(c.command).toEqual(['echo', 'hi']);
    expect(buildPod(plain, 0, config).spec!.volumes!.find((v) => v.name === 'work')).toHaveProperty('emptyDir');
    expect(configMap(plain, config).data).not.toHaveProperty(JOB_PARAMETERS_KEY);
  });
});

describe('the log reader of a finished job', () => {
  it('reads the rank log read-only from the folder, as the job user, fenced by a deny-all policy', () => {
    const j = withFolder();
    const pod = logReaderPod(j, 1, config);
    const c = pod.spec!.containers[0]!;
    expect(pod.metadata?.name).toBe('j-54112-1-log');
    expect(c.image).toBe('acme/batch:1.0.0');
    expect(c.command?.slice(-1)).toEqual(['/work/stdout-1.log']);
    expect(c.volumeMounts).toEqual([{ name: 'work', mountPath: '/work', subPath: FOLDER.subPath, readOnly: true }]);
    expect(pod.spec!.volumes).toEqual([{ name: 'work', persistentVolumeClaim: { claimName: 'ucloud-home', readOnly: true } }]);
    expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 11042 });
    expect(pod.spec!.automountServiceAccountToken).toBe(false);
    // Not a rank: none of the labels the controller's caches and the job's policy select.
    expect(Object.keys(pod.metadata!.labels!)).toEqual(['ucloud.dk/log-reader-of']);
    expect(pod.metadata!.ownerReferences?.[0]?.uid).toBe('uid-1');
    const policy = logReaderPolicy(j);
    expect(policy.spec).toEqual({ podSelector: { matchLabels: pod.metadata!.labels }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
  });
});

describe('the log wrapper, run by /bin/sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ucloud-wrapper-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // The script with its two fixed directories moved into the test's own.
  const script = () => LOG_WRAPPER.replaceAll(JOB_PARAMETERS_DIR, join(dir, 'params')).replaceAll('/work/', `${dir}/`);
  const env = (rank: string) => ({ PATH: process.env.PATH, UCLOUD_RANK: rank });
  const run = (argv: string[], rank = '0') => spawnSync('/bin/sh', ['-c', script(), 'ucloud-job', ...argv], { env: env(rank), encoding: 'utf8' });

  it('passes SIGTERM on to the command (the wrapper is PID 1 in the container) and exits with its status', async () => {
    const child = spawn('/bin/sh', ['-c', script(), 'ucloud-job', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], {
      env: env('0'),
    });
    let out = '';
    await new Promise<void>((ready) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) ready();
      }),
    );
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(7);
    expect(readFileSync(join(dir, 'stdout-0.log'), 'utf8')).toBe('ready\ngot TERM\n');
  });

  it('tees stdout and stderr to the rank log and its own stdout, and exits with the command status', () => {
    const r = run(['sh', '-c', 'echo out; echo err >&2; exit 3'], '2');
    expect(r.status).toBe(3);
    expect(r.stdout.split('\n').sort()).toEqual(['', 'err', 'out']);
    expect(readFileSync(join(dir, 'stdout-2.log'), 'utf8').split('\n').sort()).toEqual(['', 'err', 'out']);
  });

  it('passes the argv through byte for byte: spaces, quotes, $ and backticks stay literal', () => {
    const args = ['a b', "it's", '"q"', '$(id)', '`id`', '$HOME', '*', ''];
    const r = run(['printf', '[%s]\\n', ...args]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
  });

  it('copies JobParameters.json into the folder when rank 0 has it', () => {
    spawnSync('mkdir', [join(dir, 'params')]);
    writeFileSync(join(dir, 'params', JOB_PARAMETERS_KEY), PARAMS);
    expect(run(['true']).status).toBe(0);
    expect(readFileSync(join(dir, JOB_PARAMETERS_KEY), 'utf8')).toBe(PARAMS);
  });

  it('appends to an existing log (a recreated rank keeps what it printed before)', () => {
    writeFileSync(join(dir, 'stdout-0.log'), 'before\n');
    run(['echo', 'after']);
    expect(readFileSync(join(dir, 'stdout-0.log'), 'utf8')).toBe('before\nafter\n');
  });
});
