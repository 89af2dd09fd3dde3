// The built entry point (main.js) as a child process, the one launcher behind the tests that need
// a real process (leader election, SIGTERM drain: test/support/ops.ts spawnOperator) and the
// benchmarks and chaos run (bench/lib.ts startOperatorProcess): config file, credential files,
// PID 1 of a PID namespace, log lines kept (and optionally appended to a file), readiness.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface LaunchOptions {
  /** main.js of a build laid out like the image (package.json one level above dist/). */
  main: string;
  name: string;
  /** A private directory for the config and credential files (and HOME unless inheritEnv). */
  dir: string;
  /** Written to DIR/config.json and passed as UCLOUD_OPERATOR_CONFIG. */
  config: Record<string, unknown>;
  kubeconfig: string;
  /** Secret values, passed as UCLOUD_*_FILE files as the chart's Secret volume does (else in config). */
  secrets?: { refreshToken: string; publicKey: string };
  /** Pass this process's environment on (the benchmarks); otherwise only PATH. */
  inheritEnv?: boolean;
  env?: Record<string, string>;
  args?: string[];
  /**
   * Run node as PID 1 of a new PID namespace (`unshare --pid --fork`), as in a container: PID 1
   * gets only the signals it has handlers for. Needs unshare and the privilege to use it.
   */
  pid1?: boolean;
  /** Every line of stdout and stderr is also appended here. */
  logFile?: string;
  /** Remove `dir` when the process exits: the credential files go with the process. */
  removeDirOnExit?: boolean;
  /** Resolve once the process logs its ports ('listening', needs LOG_LEVEL info or lower), or once
   *  /readyz answers 200 on the configured probe port ('ready': leader with synced caches). */
  until: 'listening' | 'ready';
  timeoutMs?: number;
}

export interface OperatorProcess {
  child: ChildProcess;
  name: string;
  pid: number;
  /** Every stdout/stderr line so far. */
  lines: string[];
  adapterUrl: string;
  probeUrl: string;
  exited: Promise<Exit>;
  /** Parsed JSON log lines with this msg. */
  logged(msg: string): Array<Record<string, unknown>>;
  /** Signals node itself (under unshare too); nothing once it has exited. */
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `node main.js`; resolves as `opts.until` says, rejects (and kills it) if it exits first or times out. */
export async function launchOperator(opts: LaunchOptions): Promise<OperatorProcess> {
  const configFile = join(opts.dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(opts.config));
  const secretEnv: Record<string, string> = {};
  if (opts.secrets) {
    writeFileSync((secretEnv.UCLOUD_REFRESH_TOKEN_FILE = join(opts.dir, 'refresh-token')), opts.secrets.refreshToken, { mode: 0o600 });
    writeFileSync((secretEnv.UCLOUD_PUBLIC_KEY_FILE = join(opts.dir, 'public-key')), opts.secrets.publicKey, { mode: 0o600 });
  }
  const [command, argv] = opts.pid1
    ? ['unshare', ['--pid', '--fork', '--kill-child', process.execPath, opts.main, ...(opts.args ?? [])]]
    : [process.execPath, [opts.main, ...(opts.args ?? [])]];
  const child = spawn(command, argv, {
    cwd: opts.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...(opts.inheritEnv ? process.env : { PATH: process.env.PATH ?? '', HOME: opts.dir }),
      KUBECONFIG: opts.kubeconfig,
      UCLOUD_OPERATOR_CONFIG: configFile,
      ...secretEnv,
      ...opts.env,
    },
  });
  const lines: string[] = [];
  if (opts.logFile) {
    const out = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  }
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (process.env.TEST_LOGS === '1') process.stdout.write(`[${opts.name}] ${line}\n`);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((r) =>
    child.once('exit', (code, signal) => {
      if (opts.removeDirOnExit) rmSync(opts.dir, { recursive: true, force: true });
      r((exit = { code, signal }));
    }),
  );
  const logged = (msg: string) =>
    lines.flatMap((l) => {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        return o.msg === msg ? [o] : [];
      } catch {
        return [];
      }
    });
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Under unshare the signal goes to node itself (PID 1 inside, a plain PID out here).
    const target = opts.pid1 ? nodePidUnder(child.pid!) : child.pid;
    if (target) process.kill(target, signal);
  };
  const where = opts.logFile ? ` (see ${opts.logFile})` : `:\n${lines.join('\n')}`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const urls = await readiness(opts, logged);
    if (urls) return { child, name: opts.name, pid: child.pid!, lines, exited, logged, kill, ...urls };
    if (exit) throw new Error(`${opts.name} exited (${JSON.stringify(exit)}) before it was ready${where}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} not ready after ${timeoutMs} ms${where}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readiness(opts: LaunchOptions, logged: OperatorProcess['logged']): Promise<{ adapterUrl: string; probeUrl: string } | undefined> {
  if (opts.until === 'listening') {
    const ready = logged('ucloud-operator ready')[0];
    return ready && { adapterUrl: `http://127.0.0.1:${ready.adapterPort as number}`, probeUrl: `http://127.0.0.1:${ready.probePort as number}` };
  }
  const http = opts.config.http as { port: number; probePort: number };
  const probeUrl = `http://127.0.0.1:${http.probePort}`;
  const status = await fetch(`${probeUrl}/readyz`).then(
    (res) => res.status,
    () => 0, // not listening yet
  );
  return status === 200 ? { adapterUrl: `http://127.0.0.1:${http.port}`, probeUrl } : undefined;
}

/** The PID (in our namespace) of the process unshare forked. */
function nodePidUnder(unsharePid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
    return children[0] ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}
