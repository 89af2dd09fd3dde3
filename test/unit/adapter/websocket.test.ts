// The WebSocket gateway on a real HTTP server with a real `ws` client and real RS256 tokens, over
// the in-memory FakeKube, a fake LogSource and a fake ExecPort: routing, authentication on the
// upgrade, and shutdown closing every socket and aborting every stream behind it.
import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { LogSource, LogStreamRequest } from '../../../src/adapter/follow/log-source.js';
import type { ExecPort, ExecRequest, ExecStream } from '../../../src/adapter/sessions/exec.js';
import { SessionStore } from '../../../src/adapter/sessions/store.js';
import { createWebSocketGateway, type WebSocketGateway } from '../../../src/adapter/websocket.js';
import type { UCloudJob, UCloudJobState } from '../../../src/api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../../src/config.js';
import { rootLogger } from '../../../src/observability/log.js';
import { eventually } from '../../support/harness.js';
import { FakeKube } from '../../support/fake-kube.js';
import { job as ucloudJob } from '../../support/job-factory.js';
import { FrameClient } from '../../support/ws-frames.js';
import { MemorySecrets } from './memory-secrets.js';
import { adapterConfig, coreToken, makeKeys, NS, PROVIDER, type Keys } from './support.js';

class FakeLogs implements LogSource {
  readonly streams: PassThrough[] = [];
  async open(req: LogStreamRequest) {
    const s = new PassThrough();
    req.signal.addEventListener('abort', () => s.destroy());
    this.streams.push(s);
    s.write('2026-01-01T00:00:00Z hello\n');
    return s;
  }
  get live() {
    return this.streams.filter((s) => !s.destroyed).length;
  }
}

class FakeExec implements ExecPort {
  readonly opened: Array<{ req: ExecRequest; closed: boolean; input: string; exit?: (r: string) => void }> = [];
  async open(req: ExecRequest): Promise<ExecStream> {
    const rec: { req: ExecRequest; closed: boolean; input: string; exit?: (r: string) => void } = { req, closed: false, input: '' };
    this.opened.push(rec);
    let data: (d: Buffer) => void = () => undefined;
    return {
      write: (d, cb) => {
        rec.input += String(d);
        data(Buffer.from(String(d)));
        cb?.();
      },
      bufferedAmount: 0,
      pause: () => undefined,
      resume: () => undefined,
      resize: () => undefined,
      onData: (cb) => void (data = cb),
      onExit: (cb) => void (rec.exit = cb),
      close: () => void (rec.closed = true),
    };
  }
}

const job = (id: string, state?: UCloudJobState): UCloudJob => ({
  ...ucloudJob({ jobId: id, replicas: 1, owner: { createdBy: 'user' } }, `uid-${id}`, NS),
  ...(state ? { status: { state } } : {}),
});

describe('WebSocket gateway', () => {
  let keys: Keys;
  let server: Server;
  let gateway: WebSocketGateway;
  let kube: FakeKube;
  let logs: FakeLogs;
  let exec: FakeExec;
  let store: SessionStore;
  let base: string;
  let config: OperatorConfig;

  beforeAll(async () => {
    keys = await makeKeys();
  });
  beforeEach(async () => {
    config = adapterConfig(keys.der);
    kube = new FakeKube();
    kube.seed('UCloudJob', job('1'));
    kube.seed('UCloudJob', job('2', 'SUCCESS'));
    kube.seed('Pod', { metadata: { name: 'j-1-0', namespace: NS }, status: { phase: 'Running' } });
    logs = new FakeLogs();
    exec = new FakeExec();
    store = new SessionStore(new MemorySecrets(), NS, 600);
    gateway = createWebSocketGateway({ config, kube, logger: rootLogger, logs, exec, sessions: store, follow: { pollMs: 20, keepAliveMs: 0 } });
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', gateway.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await gateway.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const followUrl = () => `${base}/ucloud/jobs.provider.${PROVIDER}/websocket`;
  const shellUrl = () => `${base}/ucloud/${PROVIDER}/websocket`;

  it('401 for a follow upgrade with no, a forged or an expired token; 404 for other paths', async () => {
    await expect(FrameClient.connect(followUrl())).rejects.toMatchObject({ status: 401 });
    const other = await makeKeys();
    await expect(FrameClient.connect(followUrl(), { authorization: `Bearer ${await coreToken(other.privateKey)}` })).rejects.toMatchObject({ status: 401 });
    const expired = await coreToken(keys.privateKey, { iat: 1000, exp: 2000 });
    await expect(FrameClient.connect(followUrl(), { authorization: `Bearer ${expired}` })).rejects.toMatchObject({ status: 401 });
    await expect(FrameClient.connect(`${base}/ucloud/jobs.provider.other/websocket`)).rejects.toMatchObject({ status: 404 });
    await expect(FrameClient.connect(`${base}/`)).rejects.toMatchObject({ status: 404 });
  });

  it('hostile frames: dropped or answered 4xx on their stream; the socket stays usable (core2 query string included)', async () => {
    const c = await FrameClient.connect(`${followUrl()}?usernameHint=dXNlcg`, { authorization: `Bearer ${await coreToken(keys.privateKey)}` });
    const call = `jobs.provider.${PROVIDER}.follow`;
    const frames = fc.sample(
      fc.oneof(
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.record({ call: fc.constant(call), streamId: fc.string({ maxLength: 8 }), payload: fc.anything({ maxDepth: 3 }) }).map((v) => JSON.stringify(v)),
        fc.record({ call: fc.string(), streamId: fc.string({ maxLength: 8 }), payload: fc.constant({}) }).map((v) => JSON.stringify(v)),
      ),
      { numRuns: 300, seed: 5 },
    );
    for (const f of frames) c.send(f);
    c.ws.send(Buffer.from([0xff, 0x00, 0x01])); // binary: ignored
    c.send({ call, streamId: 'ok', payload: { type: 'init', job: { id: '1' } } });
    await c.waitFor((f) => f.streamId === 'ok' && f.payload?.stdout === 'hello\n', 'a valid init after the noise');
    expect(c.closed).toBe(false);
    for (const f of c.frames.filter((x) => x.type === 'response')) {
      expect([200, 400, 404]).toContain(f.status);
      if (f.status !== 200) expect(f.payload).toEqual({ why: expect.any(String), errorCode: expect.any(String) });
    }
    await c.close();
  });

  it('closing the gateway closes follow sockets and aborts their log streams', async () => {
    const c = await FrameClient.connect(followUrl(), { authorization: `Bearer ${await coreToken(keys.privateKey)}` });
    c.send({ call: `jobs.provider.${PROVIDER}.follow`, streamId: '0', payload: { type: 'init', job: { id: '1' } } });
    await c.waitFor((f) => f.payload?.stdout === 'hello\n', 'the log line');
    expect(logs.live).toBe(1);
    expect(gateway.follow.gates.size).toBe(1);
    await gateway.close();
    await eventually(() => c.closed, 'the socket closed');
    expect(logs.live).toBe(0);
    expect(gateway.follow.sessions.size).toBe(0);
    // The socket's send gate is forgotten with it (the registry's buffer figures cover open sockets).
    await eventually(() => gateway.follow.gates.size === 0, 'the gate forgotten');
  });

  it('terminal: input before initialize, a second initialize, an ended job', async () => {
    const call = `jobs.compute.${PROVIDER}.shell.open`;
    const { identifier } = await store.open(job('1'), 'SHELL', 0);
    const t = await FrameClient.connect(shellUrl());
    t.send({ call, streamId: 'a', payload: { type: 'input', data: 'ls\n' } });
    expect(await t.waitFor((f) => f.streamId === 'a', 'the refusal')).toMatchObject({ status: 400, payload: { errorCode: 'NOT_INITIALIZED' } });
    t.send({ call, streamId: 's', payload: { type: 'initialize', sessionIdentifier: identifier } });
    await t.waitFor((f) => f.streamId === 's' && f.payload?.type === 'initialize', 'initialize');
    expect(exec.opened[0]!.req).toMatchObject({ namespace: NS, pod: 'j-1-0', container: 'user-job' });
    t.send({ call, streamId: 's2', payload: { type: 'initialize', sessionIdentifier: identifier } });
    expect(await t.waitFor((f) => f.streamId === 's2', 'the second initialize')).toMatchObject({ status: 400, payload: { errorCode: 'ALREADY_INITIALIZED' } });
    t.send({ call, streamId: 's', payload: { type: 'input', data: 'ls\n' } });
    await eventually(() => exec.opened[0]!.input === 'ls\n', 'the input at the exec');
    exec.opened[0]!.exit!('');
    await eventually(() => t.closed, 'the socket closed when the shell exited');
    expect(exec.opened[0]!.closed).toBe(true);

    // A session of a job that has ended opens nothing.
    const ended = await store.open(job('2', 'SUCCESS'), 'SHELL', 0);
    const u = await FrameClient.connect(shellUrl());
    u.send({ call, streamId: 's', payload: { type: 'initialize', sessionIdentifier: ended.identifier } });
    expect(await u.waitFor((f) => f.streamId === 's', 'the refusal')).toMatchObject({ status: 404, payload: { errorCode: 'JOB_NOT_RUNNING' } });
    expect(exec.opened).toHaveLength(1);
  });

  it('the terminal endpoint is 404 when terminals are off', async () => {
    const off = createWebSocketGateway({ config, kube, logger: rootLogger, logs });
    const s = createServer();
    s.on('upgrade', off.handleUpgrade);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    try {
      await expect(FrameClient.connect(`ws://127.0.0.1:${(s.address() as AddressInfo).port}/ucloud/${PROVIDER}/websocket`)).rejects.toMatchObject({
        status: 404,
      });
    } finally {
      await off.close();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
