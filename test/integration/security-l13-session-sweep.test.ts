// security: L13 on the real apiserver — a terminal session nobody ever opens is deleted by the
// operator's leader once it expires, while its job keeps running (before, it stayed until the
// finished job's retention, 7 days after the job ended). The session is a real Secret found by
// its label. (Live sessions, SSH keys and other Secrets staying: test/unit/security/l13-session-sweep.test.ts.)
import { CoreV1Api } from '@kubernetes/client-node';
import { LABEL_SESSION } from '../../src/adapter/sessions/store.js';
import { eventually, startStack, type TestStack } from '../support/harness.js';
import { batchJob } from '../support/job-factory.js';
import { createJobs, cr, crWhen, providerCall, runningPods } from '../support/jobs.js';

const JOB_ID = '8301';
const TTL_SECONDS = 10;

describe('security: L13 expired session Secrets of a running job', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ interactive: { terminals: true, sessionTtlSeconds: TTL_SECONDS, sessionSweepSeconds: 0.5 } });
    expect((await createJobs(stack, batchJob(JOB_ID))).status).toBe(200);
    await runningPods(stack, JOB_ID, 1);
    await crWhen(stack, JOB_ID, (j) => j.status?.state === 'RUNNING', 'the job RUNNING');
  }, 60_000);
  afterAll(async () => stack?.stop(), 60_000);

  it('are deleted by the leader once expired, while the job keeps running', async () => {
    const core = stack.ns.kc.makeApiClient(CoreV1Api);
    const sessions = async () => (await core.listNamespacedSecret({ namespace: stack.ns.name, labelSelector: LABEL_SESSION })).items;
    const opened = (await providerCall(stack, '/interactiveSession', {
      items: [{ job: { id: JOB_ID, owner: { createdBy: 'user', project: null } }, rank: 0, sessionType: 'SHELL', target: null }],
    })) as { status: number };
    expect(opened.status).toBe(200);
    const [first] = await sessions();
    expect(first).toBeDefined();
    const expiresAt = Date.parse(JSON.parse(Buffer.from(first!.data!['session.json']!, 'base64').toString('utf8')).expiresAt);

    // Never used: it goes once expired (the sweep runs every 0.5 s here; 60 s by default).
    await eventually(async () => !(await sessions()).some((s) => s.metadata?.uid === first!.metadata?.uid), 'the expired session Secret deleted', 60_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect((await cr(stack, JOB_ID))?.status?.state).toBe('RUNNING');
    expect(stack.logs.some((l) => l.includes('Deleted expired session Secrets'))).toBe(true);
  }, 90_000);
});
