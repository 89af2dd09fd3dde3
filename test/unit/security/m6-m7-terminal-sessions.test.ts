// security: M6 — a terminal session id is single-use (consumed atomically by the first
// initialize), short-lived by default, and the terminal ends when its job ends.
// security: M7 — the public terminal socket caps sockets that have not initialised (in total and
// per client), closes them soon, and does not ask the apiserver twice about an unknown identifier.
import type { ExecPort, ExecStream } from '../../../src/adapter/sessions/exec.js';
import { SessionStore } from '../../../src/adapter/sessions/store.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { eventually } from '../../support/harness.js';
import { FakeKube } from '../../support/fake-kube.js';
import { FrameClient } from '../../support/ws-frames.js';
import { unitConfig } from '../../support/config.js';
import { MemorySecrets } from '../adapter/memory-secrets.js';
import { makeKeys, NS, PROVIDER } from '../adapter/support.js';
import { RUNNING_JOB as job, startTerminalGateway, type TerminalGateway } from '../adapter/terminal-gateway.js';

class QuietExec implements ExecPort {
  opened = 0;
  closed = 0;
  async open(): Promise<ExecStream> {
    this.opened++;
    return {
      write: (_d, cb) => cb?.(),
      bufferedAmount: 0,
      pause: () => undefined,
      resume: () => undefined,
      resize: () => undefined,
      onData: () => undefined,
      onExit: () => undefined,
      close: () => void this.closed++,
    };
  }
}

describe('security: M6/M7 terminal sessions', () => {
  let gw: TerminalGateway;
  let exec: QuietExec;
  let store: SessionStore;
  let secrets: MemorySecrets;
  let kube: FakeKube;
  let url: string;
  const call = `jobs.compute.${PROVIDER}.shell.open`;

  beforeEach(async () => {
    kube = new FakeKube();
    kube.seed('UCloudJob', job);
    exec = new QuietExec();
    secrets = new MemorySecrets();
    store = new SessionStore(secrets, NS, 600);
    const terminal = { maxPending: 4, maxPendingPerClient: 2, initTimeoutMs: 60_000, jobCheckMs: 50 };
    gw = await startTerminalGateway({ publicKey: (await makeKeys()).der, kube, exec, sessions: store, terminal });
    url = gw.url;
  });
  afterEach(async () => {
    await gw.close();
  });

  const init = (t: FrameClient, identifier: string, streamId = 's') =>
    t.send({ call, streamId, payload: { type: 'initialize', sessionIdentifier: identifier } });

  it('M6: the first initialize consumes the id; a replay, also a simultaneous one, gets nothing', async () => {
    const { identifier } = await store.open(job, 'SHELL', 0);
    const a = await FrameClient.connect(url);
    const b = await FrameClient.connect(url);
    init(a, identifier);
    init(b, identifier);
    const answers = await Promise.all([a, b].map((t) => t.waitFor((f) => f.streamId === 's', 'an answer')));
    expect(answers.filter((f) => f.payload?.type === 'initialize')).toHaveLength(1);
    expect(answers.filter((f) => f.status === 401)).toHaveLength(1);
    expect(exec.opened).toBe(1);
    expect(secrets.objects.size).toBe(0);
    const c = await FrameClient.connect(url);
    init(c, identifier);
    expect(await c.waitFor((f) => f.streamId === 's', 'the replay refused')).toMatchObject({ status: 401, payload: { errorCode: 'INVALID_SESSION' } });
    expect(unitConfig().interactive.sessionTtlSeconds).toBeLessThanOrEqual(300);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('M6: a terminal ends when its job ends', async () => {
    const { identifier } = await store.open(job, 'SHELL', 0);
    const t = await FrameClient.connect(url);
    init(t, identifier);
    await t.waitFor((f) => f.payload?.type === 'initialize', 'the terminal');
    const stored = kube.peek<UCloudJob>('UCloudJob', NS, 'j-1')!;
    await kube.ucloudJobs.replaceStatus({ ...stored, status: { state: 'SUCCESS' } } as UCloudJob);
    await eventually(() => t.closed, 'the terminal closed with its job');
    expect(exec.closed).toBe(1);
  });

  it('M7: caps sockets waiting to initialise, per client and in total; a settled socket frees its place', async () => {
    const open: FrameClient[] = [];
    open.push(await FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.1' }));
    open.push(await FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.1' }));
    await expect(FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.1' })).rejects.toMatchObject({ status: 503 });
    open.push(await FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.2' }));
    open.push(await FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.3' }));
    await expect(FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.4' })).rejects.toMatchObject({ status: 503 });
    // One of them initialises a terminal: no longer pending.
    const { identifier } = await store.open(job, 'SHELL', 0);
    init(open[0]!, identifier);
    await open[0]!.waitFor((f) => f.payload?.type === 'initialize', 'the terminal');
    open.push(await FrameClient.connect(url, { 'x-forwarded-for': '10.0.0.4' }));
    await Promise.all(open.map((c) => c.close()));
  });

  it('M7: an unknown identifier is looked up once, and the default init timeout is short', async () => {
    let gets = 0;
    const get = secrets.get.bind(secrets);
    secrets.get = async (ns, name) => (gets++, get(ns, name));
    const bogus = 'B'.repeat(43);
    for (let i = 0; i < 3; i++) {
      const t = await FrameClient.connect(url);
      init(t, bogus);
      await t.waitFor((f) => f.streamId === 's', 'the refusal');
      await t.close();
    }
    expect(gets).toBe(1);
    expect(unitConfig().interactive.terminal.initTimeoutSeconds).toBeLessThanOrEqual(5);
  });
});
