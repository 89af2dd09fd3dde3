// Follow against a fast writer on a real node, with a follower that stops reading. The container
// writes 8 MB to stdout as fast as awk can print it. The follow client stops reading its socket
// before the flood reaches it. The operator must then hold the socket's send buffer at the
// configured bound (`interactive.followBufferBytes` plus one log chunk's frame): it pauses the
// pod-log stream and lets TCP flow control push back to the apiserver and the kubelet, while the
// container's output waits in its log file. Once the client reads again it must get every line,
// in order, to the last one. The bound is read from the running operator's SendGate
// (`peakBuffered`: the largest buffer the socket has had), which the unit test in
// test/unit/adapter/follow/session.test.ts checks against a fake socket. Measured on this 2-core
// VM: at most 65,888 bytes with a 64 KiB mark; with the stream's pause taken out of
// src/adapter/follow/session.ts, 2.8 MB by the time the container had finished (the test fails).
import { CoreV1Api } from '@kubernetes/client-node';
import { podName } from '../../src/api/v1alpha1/names.js';
import { eventually, type TestStack } from '../support/harness.js';
import { crWhen, runningPods } from '../support/jobs.js';
import { describeOnRealNodes, runShellJob, shellJob, startRealStack } from '../support/real-node.js';
import { FrameClient } from '../support/ws-frames.js';

/** interactive.followBufferBytes for this stack (the smallest allowed is 16 KiB). */
const HIGH_WATER = 64 * 1024;
/** One log chunk's frame over the bound. A TLS record holds at most 16 KiB of log text, so one
 *  chunk arrives as at most that much; this allows four of them. */
const CHUNK_ALLOWANCE = 64 * 1024;
/** 8,000 lines of 1,000 bytes: well over the loopback socket buffers, and under the kubelet's
 *  10 MiB log rotation, so the whole flood stays in one log file. */
const LINES = 8000;
const WIDTH = 1000;
const DONE = 'flood done';

const floodLine = (i: number) => `${String(i).padStart(6, '0')} ${'x'.repeat(WIDTH - 7)}`;

describeOnRealNodes('follow back-pressure on a real node', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startRealStack({ interactive: { followPollSeconds: 0.2, followBufferBytes: HIGH_WATER } });
  });
  afterAll(async () => stack?.stop(), 120_000);

  it('a follower that stops reading while a container floods stdout holds the send buffer at the bound, then gets every line', async () => {
    const id = '90611';
    const script = `awk 'BEGIN { pad = sprintf("%${WIDTH - 7}s", ""); gsub(/ /, "x", pad); for (i = 1; i <= ${LINES}; i++) printf "%06d %s\\n", i, pad }'
echo "${DONE}"
exec sleep 3600`;
    await runShellJob(stack, id, script);
    await runningPods(stack, id, 1, 90_000);
    await crWhen(stack, id, (j) => j.status?.state === 'RUNNING', 'RUNNING');
    const registry = stack.operator.webSockets.follow;

    const wsUrl = `${stack.operator.adapterUrl.replace('http', 'ws')}/ucloud/jobs.provider.${stack.core.providerId}/websocket`;
    const client = await FrameClient.connect(wsUrl, { authorization: `Bearer ${await stack.core.signCoreToken()}` });
    client.send({ call: `jobs.provider.${stack.core.providerId}.follow`, streamId: 'f', payload: { type: 'init', job: shellJob(id, script) } });
    // The client stops reading: what the operator sends piles up in the kernel's socket buffers,
    // then in the operator's.
    client.ws.pause();
    await eventually(() => registry.peakBufferedBytes > HIGH_WATER, 'the stalled socket to back up into the operator', 90_000);

    // The container has written all of it while the follower is stalled.
    const core = stack.ns.kc.makeApiClient(CoreV1Api);
    await eventually(
      async () =>
        (
          await core.readNamespacedPodLog({ name: podName(`j-${id}`, 0), namespace: stack.ns.name, container: 'user-job', tailLines: 1 }).catch(() => '')
        ).includes(DONE),
      'the container to finish its flood',
      90_000,
    );
    const peakWhileStalled = registry.peakBufferedBytes;
    expect(peakWhileStalled).toBeLessThanOrEqual(HIGH_WATER + CHUNK_ALLOWANCE);
    expect(client.followText('f', 0)).not.toContain(DONE);

    // Reading again: every line arrives, in order, none lost or repeated, the last one included.
    client.ws.resume();
    // (Only the newest frames are searched while waiting: the whole text is 8 MB.)
    await eventually(
      () => client.frames.slice(-3).some((f) => f.payload?.stdout?.includes(`${DONE}\n`)),
      'the last line after the follower reads again',
      120_000,
    );
    const text = client.followText('f', 0);
    const lines = text.split('\n');
    const firstWrong = lines.slice(0, LINES).findIndex((l, i) => l !== floodLine(i + 1));
    expect({ lines: lines.length, firstWrong, wrong: firstWrong < 0 ? null : lines[firstWrong]!.slice(0, 40) }).toEqual({
      lines: LINES + 2,
      firstWrong: -1,
      wrong: null,
    });
    expect(lines.slice(LINES)).toEqual([DONE, '']);
    // The bound held while the client caught up, too.
    const peak = registry.peakBufferedBytes;
    expect(peak).toBeLessThanOrEqual(HIGH_WATER + CHUNK_ALLOWANCE);
    process.stdout.write(
      `follow back-pressure: ${(LINES * (WIDTH + 1)) / 1e6} MB followed; largest send buffer ${peak} bytes (bound ${HIGH_WATER} + ${CHUNK_ALLOWANCE})\n`,
    );

    // Closing the socket ends the session and forgets its gate.
    await client.close();
    await eventually(() => registry.sessions.size === 0 && registry.gates.size === 0, 'the session and its gate to go with the socket');
  }, 400_000);
});
