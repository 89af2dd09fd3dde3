// Terminals: interactiveSession (SHELL) on a 2-rank job on the real control plane, then a
// browser's terminal WebSocket (real `ws` client) that execs into the chosen rank, with input,
// output and resize. Sessions are Secrets owned by the job in the real apiserver.
//
// kwok pods run no containers and cannot be exec'ed into: the operator's real ExecPort (Kubernetes
// exec over WebSocket, v5/v4 channel protocol) is pointed at a loopback stand-in for that one
// endpoint (test/support/exec-stand-in.ts), which echoes stdin like a TTY and records resizes.
import { CoreV1Api } from '@kubernetes/client-node';
import { createKubeExecPort } from '../../src/adapter/sessions/exec.js';
import { LABEL_SESSION } from '../../src/adapter/sessions/store.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { ExecStandIn } from '../support/exec-stand-in.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, crWhen, providerCall, runningPods } from '../support/jobs.js';
import { FrameClient } from '../support/ws-frames.js';

const JOB_ID = '8201';

describe('terminal sessions', () => {
  let stack: TestStack;
  let exec: ExecStandIn;
  const call = 'jobs.compute.example.shell.open';
  const shellUrl = () => `${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/example/websocket`;
  const open = (items: unknown[]) => providerCall(stack, '/interactiveSession', { items }) as Promise<{ status: number; body: any }>;
  const item = (rank: number, sessionType = 'SHELL', owner?: unknown) => ({
    job: { id: JOB_ID, ...(owner ? { owner } : {}) },
    rank,
    sessionType,
    target: null,
  });

  beforeAll(async () => {
    exec = await ExecStandIn.start();
    stack = await startStack({ interactive: { terminals: true } }, (ns) => ({ interactive: { exec: createKubeExecPort(ns.kc, { server: exec.url }) } }));
    expect((await createJobs(stack, batchJob(JOB_ID, { replicas: 2 }))).status).toBe(200);
    await runningPods(stack, JOB_ID, 2);
    await crWhen(stack, JOB_ID, (j) => j.status?.state === 'RUNNING', 'the job RUNNING');
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await exec?.close();
  }, 60_000);

  it('advertises terminal (it is enabled here); web and vnc stay off', async () => {
    const products = await stack.core.callProvider<any>(stack.operator.adapterUrl, 'GET', '/ucloud/example/jobs/retrieveProducts');
    expect(products.body.responses[0].docker).toMatchObject({ terminal: true, logs: true, web: false, vnc: false });
  });

  it('refuses a rank outside 0..replicas-1, another owner, and the types that are not served', async () => {
    expect(await open([item(2)])).toMatchObject({ status: 400, body: { errorCode: 'INVALID_RANK', why: 'items[0].rank: rank 2 is outside 0..1' } });
    expect(await open([item(0), item(-1)])).toMatchObject({ status: 400, body: { errorCode: 'INVALID_REQUEST' } });
    expect(await open([item(0, 'SHELL', { createdBy: 'mallory', project: null })])).toMatchObject({ status: 403, body: { errorCode: 'NOT_JOB_OWNER' } });
    expect(await open([item(0, 'WEB')])).toMatchObject({ status: 400, body: { errorCode: 'SESSIONS_NOT_SUPPORTED' } });
    expect(await open([item(0, 'VNC')])).toMatchObject({ status: 400, body: { errorCode: 'SESSIONS_NOT_SUPPORTED' } });
    expect(await open([{ ...item(0), job: { id: 'no-such-job' } }])).toMatchObject({ status: 404, body: { errorCode: 'UNKNOWN_JOB' } });
    // Nothing was stored for any refused call.
    const core = stack.ns.kc.makeApiClient(CoreV1Api);
    expect((await core.listNamespacedSecret({ namespace: stack.ns.name, labelSelector: LABEL_SESSION })).items).toHaveLength(0);
  });

  it('opens a shell in rank 1: exec round trip with input, output and resize, then exit', async () => {
    const opened = await open([item(1, 'SHELL', { createdBy: 'user', project: null })]);
    expect(opened.status).toBe(200);
    const session = opened.body.responses[0];
    expect(session).toEqual({ type: 'shell', jobId: JOB_ID, rank: 1, sessionIdentifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), domainOverride: null });

    // Durable: one Secret owned by the job, which does not hold the identifier.
    const core = stack.ns.kc.makeApiClient(CoreV1Api);
    const secrets = (await core.listNamespacedSecret({ namespace: stack.ns.name, labelSelector: LABEL_SESSION })).items;
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'UCloudJob', name: `j-${JOB_ID}` })]);
    expect(JSON.stringify(secrets[0])).not.toContain(session.sessionIdentifier);

    // A wrong identifier gets nothing.
    const intruder = await FrameClient.connect(shellUrl());
    intruder.send({ call, streamId: 'x', payload: { type: 'initialize', sessionIdentifier: 'A'.repeat(43), cols: 80, rows: 24 } });
    expect(await intruder.waitFor((f) => f.streamId === 'x', 'the refusal')).toMatchObject({
      type: 'response',
      status: 401,
      payload: { errorCode: 'INVALID_SESSION' },
    });
    await eventually(() => intruder.closed, 'the intruder socket closed');
    expect(exec.calls).toHaveLength(0);

    const term = await FrameClient.connect(shellUrl());
    term.send({ call, streamId: 's', payload: { type: 'initialize', sessionIdentifier: session.sessionIdentifier, cols: 100, rows: 30 } });
    expect(await term.waitFor((f) => f.streamId === 's', 'initialize')).toEqual({ type: 'message', streamId: 's', payload: { type: 'initialize' } });
    expect(exec.calls).toHaveLength(1);
    const ex = exec.calls[0]!;
    expect([ex.namespace, ex.pod, ex.protocol]).toEqual([stack.ns.name, `j-${JOB_ID}-1`, 'v5.channel.k8s.io']);
    expect(Object.fromEntries(['container', 'stdin', 'stdout', 'tty'].map((k) => [k, ex.query.get(k)]))).toEqual({
      container: 'user-job',
      stdin: 'true',
      stdout: 'true',
      tty: 'true',
    });
    expect(ex.query.getAll('command')[0]).toBe('sh');
    await eventually(() => ex.resizes.length === 1, 'the initial size');
    expect(ex.resizes).toEqual([{ Width: 100, Height: 30 }]);

    term.send({ call, streamId: 'i1', payload: { type: 'input', data: 'echo hi\n' } });
    expect(await term.waitFor((f) => f.streamId === 'i1', 'the ack')).toEqual({ type: 'response', status: 200, streamId: 'i1', payload: { type: 'ack' } });
    const output = () => term.dataOn('s');
    await eventually(() => output() === 'echo hi\n', 'the echoed input');

    term.send({ call, streamId: 'r1', payload: { type: 'resize', cols: 120, rows: 40 } });
    await term.waitFor((f) => f.streamId === 'r1', 'the resize ack');
    await eventually(() => ex.resizes.length === 2, 'the resize at the exec');
    expect(ex.resizes[1]).toEqual({ Width: 120, Height: 40 });
    term.send({ call, streamId: 'r2', payload: { type: 'resize', cols: 0, rows: 40 } });
    expect(await term.waitFor((f) => f.streamId === 'r2', 'the bad resize')).toMatchObject({ status: 400, payload: { errorCode: 'INVALID_REQUEST' } });

    term.send({ call, streamId: 'i2', payload: { type: 'input', data: 'exit\n' } });
    await term.waitFor((f) => f.streamId === 's' && f.type === 'response', 'the end of the terminal');
    await eventually(() => term.closed, 'the terminal socket closed');
    await eventually(() => exec.openConnections === 0, 'the exec connection closed');
  }, 60_000);

  it('closing the browser socket closes the exec connection; an identifier is used once (security: M6)', async () => {
    for (let i = 0; i < 2; i++) {
      const { body } = await open([item(0)]);
      const id = body.responses[0].sessionIdentifier;
      const term = await FrameClient.connect(shellUrl());
      term.send({ call, streamId: 's', payload: { type: 'initialize', sessionIdentifier: id, cols: 80, rows: 24 } });
      await term.waitFor((f) => f.streamId === 's', 'initialize');
      await eventually(() => exec.openConnections === 1, 'one exec connection');
      await term.close();
      await eventually(() => exec.openConnections === 0, 'the exec connection closed with the socket');
      // The same identifier again: consumed by the first initialize (its Secret is gone).
      const replay = await FrameClient.connect(shellUrl());
      replay.send({ call, streamId: 's', payload: { type: 'initialize', sessionIdentifier: id, cols: 80, rows: 24 } });
      expect(await replay.waitFor((f) => f.streamId === 's', 'the replay refused')).toMatchObject({ status: 401, payload: { errorCode: 'INVALID_SESSION' } });
    }
    expect(exec.calls.filter((c) => c.pod === `j-${JOB_ID}-0`)).toHaveLength(2);
  }, 60_000);
});
