// Follow: UCloud/Core (emulated, real RS256 tokens) follows a 2-rank job over the real
// WebSocket endpoint with a real `ws` client; the job, its pods and their states are on the real
// control plane (kube-apiserver + kwok).
//
// kwok pods run no containers and so have no logs: the operator's real LogSource (a raw HTTP
// request for /api/v1/namespaces/{ns}/pods/{pod}/log?follow=true&timestamps=true) is pointed at a
// loopback stand-in for that one endpoint (test/support/pod-log-stand-in.ts), which serves each
// pod's log and counts the TCP connections still open, so the test can prove that cancel, a closed
// socket and the job's end each leave no log connection behind.
import { createKubeLogSource } from '../../src/adapter/follow/log-source.js';
import { podName } from '../../src/api/v1alpha1/names.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { PodLogStandIn } from '../support/pod-log-stand-in.js';
import { FrameClient } from '../support/ws-frames.js';
import { batchJob } from '../support/job-factory.js';

const JOB_ID = '77001';
// The spec's example (its 1 h limit kept) with two ranks.
const job = batchJob(JOB_ID, { replicas: 2, timeAllocationSeconds: 3600 });
const JOB_NAME = `j-${JOB_ID}`;

const stamp = (i: number) => `2026-12-01T10:00:${String(i).padStart(2, '0')}.000000${i}Z`;
/** Rank r's log: five stamped lines; rank 1's third line carries invalid UTF-8 bytes. */
function rankLog(r: number): { chunks: Buffer[]; expected: string } {
  const lines: Buffer[] = [];
  let expected = '';
  for (let i = 0; i < 5; i++) {
    if (r === 1 && i === 2) {
      lines.push(Buffer.concat([Buffer.from(`${stamp(i)} rank 1 caf`), Buffer.from([0xc3, 0xa9, 0x20, 0xff, 0xc3]), Buffer.from(' ok\n')]));
      expected += 'rank 1 café  ok\n';
    } else {
      lines.push(Buffer.from(`${stamp(i)} rank ${r} line ${i}\n`));
      expected += `rank ${r} line ${i}\n`;
    }
  }
  // Chunk boundaries that split lines (and the multi-byte é) in the middle.
  const all = Buffer.concat(lines);
  const chunks = [all.subarray(0, 7), all.subarray(7, 61), all.subarray(61, 110), all.subarray(110)];
  return { chunks, expected };
}

describe('follow over the WebSocket endpoint', () => {
  let stack: TestStack;
  let logs: PodLogStandIn;
  const call = () => `jobs.provider.${stack.core.providerId}.follow`;
  const wsUrl = () => `${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/jobs.provider.${stack.core.providerId}/websocket`;
  const connect = async () => FrameClient.connect(wsUrl(), { authorization: `Bearer ${await stack.core.signCoreToken()}` });

  beforeAll(async () => {
    logs = await PodLogStandIn.start();
    for (const r of [0, 1]) logs.setLog(podName(JOB_NAME, r), rankLog(r).chunks);
    stack = await startStack({ interactive: { followPollSeconds: 0.2 } }, (ns) => ({
      interactive: { logSource: createKubeLogSource(ns.kc, { server: logs.url }) },
    }));
    const res = await stack.core.callProvider(stack.operator.adapterUrl, 'POST', `/ucloud/${stack.core.providerId}/jobs`, { items: [job] });
    expect(res).toEqual({ status: 200, body: { responses: [null] } });
    for (const r of [0, 1]) {
      await eventually(async () => (await stack.ns.kube.pods.get(stack.ns.name, podName(JOB_NAME, r)))?.status?.phase === 'Running', `rank ${r} running`);
    }
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await logs?.close();
  }, 60_000);

  it('refuses an upgrade without a valid UCloud/Core token with 401', async () => {
    await expect(FrameClient.connect(wsUrl())).rejects.toMatchObject({ status: 401 });
    const forged = await stack.core.signCoreToken({ sub: 'someone-else' });
    const refused = FrameClient.connect(wsUrl(), { authorization: `Bearer ${forged}` });
    await expect(refused).rejects.toMatchObject({ status: 401 });
    const body = await refused.catch((e: { body: string }) => JSON.parse(e.body));
    expect(body).toEqual({ why: expect.any(String), errorCode: 'UNAUTHENTICATED' });
  }, 30_000);

  it('streams both ranks in order per rank, then cancel closes every log connection', async () => {
    const client = await connect();
    expect(client.upgradeHeaders['ucloud-no-bearer']).toBeDefined();
    client.send({ ping: 'pong' }); // keep-alive: ignored
    client.send('not json at all'); // dropped
    client.send({ call: call(), streamId: '0', payload: { type: 'init', job }, bearer: null, causedBy: null, project: null });

    const first = await client.waitFor((f) => f.streamId === '0', 'the first frame of the session');
    expect(first).toMatchObject({ type: 'message', payload: { rank: 0, stdout: '', stderr: null } });
    const sessionId: string = first.payload.streamId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    for (const r of [0, 1]) {
      await eventually(() => client.followText('0', r) === rankLog(r).expected, `rank ${r}'s log`);
    }
    // Every message of the session: request streamId in the envelope, session id in the payload.
    for (const f of client.on('0')) expect(f.payload.streamId).toBe(sessionId);
    expect(logs.openStreams).toBe(2);
    const asked = logs.requests.filter((q) => q.namespace === stack.ns.name).map((q) => [q.pod, Object.fromEntries(q.query)]);
    expect(asked).toEqual(expect.arrayContaining([0, 1].map((r) => [podName(JOB_NAME, r), { container: 'user-job', follow: 'true', timestamps: 'true' }])));

    // New output reaches the client while following.
    logs.append(podName(JOB_NAME, 1), Buffer.from(`${stamp(9)} rank 1 late line\n`));
    await eventually(() => client.followText('0', 1).endsWith('rank 1 late line\n'), 'the appended line');

    client.send({ call: call(), streamId: '1', payload: { type: 'cancel', streamId: sessionId } });
    await client.waitFor((f) => f.streamId === '1' && f.type === 'response', 'the cancel response');
    expect(client.on('1')).toEqual([{ type: 'response', status: 200, streamId: '1', payload: { streamId: sessionId, rank: 0, stdout: null, stderr: null } }]);
    await client.waitFor((f) => f.streamId === '0' && f.type === 'response', 'the end of the init stream');
    await eventually(() => logs.openConnections === 0, 'every log connection closed after cancel');
    expect(stack.operator.webSockets.follow.sessions.size).toBe(0);
    // The socket stays usable: an unknown job is a 404 on its own stream.
    client.send({ call: call(), streamId: '2', payload: { type: 'init', job: { ...job, id: 'no-such-job' } } });
    const unknown = await client.waitFor((f) => f.streamId === '2', 'the unknown-job answer');
    expect(unknown).toMatchObject({ type: 'response', status: 404, payload: { errorCode: 'UNKNOWN_JOB' } });
    client.send({ call: 'jobs.provider.other.follow', streamId: '3', payload: {} });
    expect(await client.waitFor((f) => f.streamId === '3', 'the unknown-call answer')).toMatchObject({ status: 404 });
    await client.close();
  }, 60_000);

  it('a closed socket closes its log connections; the job ending ends the session', async () => {
    const a = await connect();
    a.send({ call: call(), streamId: 'a', payload: { type: 'init', job } });
    await eventually(() => a.followText('a', 0) === rankLog(0).expected, 'rank 0 on socket a');
    await eventually(() => logs.openStreams === 2, 'two log streams for socket a');
    await a.close();
    await eventually(() => logs.openConnections === 0, 'every log connection closed after the socket closed');

    // core2 style: one init with streamId "ignored", never a cancel.
    const b = await connect();
    b.send({ call: call(), streamId: 'ignored', payload: { type: 'init', job } });
    await eventually(() => b.followText('ignored', 1).startsWith(rankLog(1).expected), 'rank 1 on socket b');
    await eventually(() => logs.openStreams === 2, 'two log streams for socket b');
    const term = await stack.core.callProvider(stack.operator.adapterUrl, 'POST', `/ucloud/${stack.core.providerId}/jobs/terminate`, {
      items: [{ id: JOB_ID }],
    });
    expect(term.status).toBe(200);
    const end = await b.waitFor((f) => f.streamId === 'ignored' && f.type === 'response', 'the session to end with the job', 60_000);
    expect(end).toMatchObject({ status: 200 });
    await eventually(() => logs.openConnections === 0, 'every log connection closed after the job ended');
    await b.close();
  }, 90_000);
});
