// SIGTERM as the kubelet sends it, to the built entrypoint (node dist/src/main.js) running as PID 1
// of its own PID namespace, as in the image (where unshare is allowed): the operator turns unready, stops accepting connections, finishes the provider
// call and the JobsControl report that are in flight, only then releases the Lease (holderIdentity
// cleared) and exits 0. A gate between the operator and the UCloud/Core emulator holds the report,
// and a request body sent in two halves holds the adapter call, so "in flight" is certain.
import { jest } from '@jest/globals';
import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createTestNamespace, eventually, type TestNamespace } from '../support/harness.js';
import { builtEntrypoint, canRunAsPid1, spawnReplica, type OperatorProcess } from '../support/ops.js';
import { UCloudCoreEmulator } from '../support/ucloud-core-emulator.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { specJob } from '../support/job-factory.js';

jest.setTimeout(120_000);

/** The spec's example create body. */
const fixture = { items: [specJob()] };
const LEASE = 'ucloud-operator-leader';

/** A loopback proxy to the emulator that can hold JobsControl.update calls until released. */
class Gate {
  holding = false;
  readonly held: Array<() => void> = [];
  private server?: Server;
  url = '';
  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.holding && req.url === '/api/jobs/control/update') await new Promise<void>((r) => this.held.push(r));
    const body = Buffer.concat(chunks);
    const headers = { ...req.headers, host: new URL(this.target).host, 'content-length': String(body.length) };
    const upstream = httpRequest(`${this.target}${req.url}`, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }

  release(): void {
    this.holding = false;
    for (const r of this.held.splice(0)) r();
  }

  async close(): Promise<void> {
    this.release();
    await new Promise<void>((r) => {
      if (!this.server) return r();
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

/**
 * Starts a POST whose body arrives in two halves. It asks for 100-continue, so once started() has
 * resolved the server has parsed the request head: the call is in flight, not a connection yet to
 * be read. finish() sends the rest and resolves to the answer.
 */
function halfSentPost(url: string, token: string, body: string): { started: Promise<void>; finish(): Promise<{ status: number; body: string }> } {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const req = httpRequest(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(bytes.length), expect: '100-continue' },
  });
  let failed: unknown;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', (e) => {
      failed = e;
      reject(e);
    });
  });
  answer.catch(() => undefined); // surfaced by finish()
  const started = new Promise<void>((resolve, reject) => {
    req.on('continue', () => {
      req.write(bytes.subarray(0, half), () => resolve());
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return {
    started,
    finish: () => {
      if (failed) return Promise.reject(failed);
      req.end(bytes.subarray(half));
      return answer;
    },
  };
}

describe('SIGTERM to node dist/src/main.js', () => {
  let ns: TestNamespace;
  let core: UCloudCoreEmulator;
  let gate: Gate;
  let op: OperatorProcess | undefined;

  beforeAll(async () => {
    ns = await createTestNamespace('term');
    core = await UCloudCoreEmulator.start({ providerId: 'example' });
    gate = new Gate(core.url);
    await gate.start();
  });
  afterAll(async () => {
    op?.kill('SIGKILL');
    await gate?.close();
    await core?.close();
    await ns?.delete();
  });

  it('prints its version and validates a configuration without starting', async () => {
    const main = await builtEntrypoint();
    const run = promisify(execFile);
    const version = await run(process.execPath, [main, '--version']);
    expect(version.stdout).toBe(`ucloud-operator ${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`);
    const bad = await run(process.execPath, [main, '--check-config'], { env: { PATH: process.env.PATH, UCLOUD_PROVIDER_ID: 'x y' } }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stdout: string }).stdout).toMatch(/Configuration is invalid.*providerId/);
  });

  it('drains: unready, no new connections, in-flight call and report finish, Lease released, exit 0', async () => {
    // As in the image, node is PID 1 (of a PID namespace) when this machine allows it: PID 1 gets
    // SIGTERM only because main.ts handles it.
    const pid1 = await canRunAsPid1();
    op = await spawnReplica({
      pid1,
      name: 'op-term',
      namespace: ns.name,
      core,
      coreUrl: gate.url,
      leaderElection: { leaseName: LEASE, leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 1 },
      shutdownDeadlineMs: 30_000,
    });
    await eventually(async () => (await (await fetch(`${op!.probeUrl}/readyz`)).text()) === 'ok: leader', 'ready as leader');
    if (pid1) expect(op.logged('Starting')[0]).toMatchObject({ pid: 1 });
    else process.stdout.write('shutdown: unshare --pid unavailable here; node runs as an ordinary child, not PID 1\n');
    const jobsUrl = `${op.adapterUrl}/ucloud/${core.providerId}/jobs`;

    // A report in flight: the job's RUNNING update is held at the gate.
    gate.holding = true;
    expect((await core.callProvider(op.adapterUrl, 'POST', `/ucloud/${core.providerId}/jobs`, fixture)).status).toBe(200);
    await eventually(() => gate.held.length > 0, 'the RUNNING update held at the gate');
    // A provider call in flight: half its body is there.
    const second = { items: [specJob('54113')] };
    const call = halfSentPost(jobsUrl, await core.signCoreToken(), JSON.stringify(second));
    await call.started;

    op.kill('SIGTERM');
    await eventually(() => op!.logged('Stopping: draining the adapter').length > 0, 'the drain to start');
    // Unready, and the adapter takes no new connections; the process is still there.
    const ready = await fetch(`${op.probeUrl}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, 'not ready: shutting down']);
    await expect(fetch(`${jobsUrl}/retrieveProducts`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    expect(op.child.exitCode).toBeNull();

    // The call in flight completes, and its job is written.
    const answer = await call.finish();
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ responses: [null] }) });
    expect(await ns.kube.ucloudJobs.get(ns.name, 'j-54113')).toBeDefined();

    // The report in flight holds the shutdown, and the Lease stays ours until it is done.
    await eventually(() => op!.logged('Stopping: finishing reconciles, reports and charges in flight').length > 0, 'the duties to stop');
    expect(op.child.exitCode).toBeNull();
    expect((await ns.kube.leases.get(ns.name, LEASE))?.spec?.holderIdentity).toBe('op-term');
    expect(core.jobStates('54112')).toEqual([]);

    gate.release();
    const exit = await op.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(core.jobStates('54112')).toEqual(['RUNNING']);
    // The acknowledgement was recorded before exiting, and the Lease was given up.
    const job = await ns.kube.ucloudJobs.get(ns.name, 'j-54112');
    expect(job?.status?.outbox?.acknowledgedSeq).toBeGreaterThanOrEqual(1);
    const lease = await ns.kube.leases.get(ns.name, LEASE);
    expect(lease?.spec?.holderIdentity ?? '').toBe('');
    expect(op.logged('Released the lease')).toHaveLength(1);
    expect(op.logged('Exiting')[0]).toMatchObject({ signal: 'SIGTERM' });
    // Nothing secret was logged on the way.
    expect(op.lines.some((l) => l.includes(core.refreshToken))).toBe(false);
  });
});
