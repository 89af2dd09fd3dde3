// Hostile input against the surfaces the security work added: the public web-auth endpoint (forged
// headers, cookies and session secrets), the public terminal socket (arbitrary frames), and UCloud
// paths built from symlink-ish and traversal segments mounted per drive. Every refused input gets
// a refusal (401, a 4xx with `why`, or an error frame) and writes nothing: no Kubernetes object,
// no session Secret created or consumed. Part of the short run in `npm test`; `npm run chaos`
// runs it with FUZZ_RUNS large.
import fc from 'fast-check';
import type { ExecPort, ExecStream } from '../../../src/adapter/sessions/exec.js';
import { SessionStore } from '../../../src/adapter/sessions/store.js';
import { WebAuth } from '../../../src/adapter/sessions/web-auth.js';
import { JobStore } from '../../../src/adapter/job-store.js';
import type { UCloudJob } from '../../../src/api/v1alpha1/ucloudjob.js';
import { FakeKube } from '../../support/fake-kube.js';
import { FrameClient } from '../../support/ws-frames.js';
import { MemorySecrets } from '../adapter/memory-secrets.js';
import { RUNNING_JOB as runningJob, startTerminalGateway, type TerminalGateway } from '../adapter/terminal-gateway.js';
import { adapterConfig, jobsPath, makeKeys, NS, PROVIDER, startAdapter, type Harness, type Keys } from '../adapter/support.js';
import { RUNS, SEED, validJob } from './fuzz-support.js';

const count = { inputs: 0, webAuthRefused: 0, webAuthAdmitted: 0, frames: 0, paths: 0, pathsRefused: 0 };
const T = 60_000 + RUNS * 200;
const params = (runs = RUNS) => ({ numRuns: runs, seed: SEED, endOnFailure: true });
const HOST = 'app-1-0.apps.test';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});
afterAll(() => {
  process.stdout.write(
    `session fuzz (seed ${SEED}, ${RUNS} runs/property): ${count.inputs} inputs: ${count.webAuthRefused} web-auth refusals (${count.webAuthAdmitted} admitted with the secret), ` +
      `${count.frames} terminal frames, ${count.paths} per-drive paths (${count.pathsRefused} refused)\n`,
  );
});

describe('web-auth under forged headers', () => {
  let h: Harness;
  let secrets: MemorySecrets;
  let valid: string;
  beforeAll(async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', runningJob);
    secrets = new MemorySecrets();
    const store = new SessionStore(secrets, NS, 600);
    valid = (await store.open(runningJob, 'WEB', 0, { host: HOST })).identifier;
    const webAuth = new WebAuth(store, new JobStore(kube, NS), { secure: true, cacheMs: 0 });
    h = await startAdapter(keys, { kube, deps: { interactive: { follow: false, webAuth } } });
  });
  afterAll(() => h.close());

  const text = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', HOST, `${HOST}:443`, 'APP-1-0.apps.test', 'evil.test', `${HOST}, evil.test`));
  const secret = fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.constantFrom('%00', '../..', '', '<valid>'));
  const headers = fc.record(
    {
      'x-original-url': fc.oneof(
        text,
        fc.tuple(text, secret).map(([hst, s]) => `https://${hst}/?ucloud-session=${encodeURIComponent(s)}`),
      ),
      'x-forwarded-host': text,
      'x-forwarded-uri': fc.oneof(
        text,
        secret.map((s) => `/?ucloud-session=${s}`),
      ),
      cookie: fc.oneof(
        text,
        secret.map((s) => `ucloud-session=${s}`),
        secret.map((s) => `a=b; ucloud-session=${s}; c`),
      ),
    },
    { requiredKeys: [] },
  );

  it(
    'admits only the session secret on its host; refuses everything else; writes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(headers, async (hdrs) => {
          // Header values the fetch client itself cannot send are not inputs.
          const clean = Object.fromEntries(
            Object.entries(hdrs)
              .map(([k, v]) => [k, v.replaceAll('<valid>', valid).replaceAll(encodeURIComponent('<valid>'), valid)] as const)
              .filter(([, v]) => /^[\x20-\x7e]*$/.test(v)),
          );
          const before = secrets.objects.size;
          const reply = await h.call('GET', `/ucloud/${PROVIDER}/web-auth`, undefined, { token: null, headers: clean });
          count.inputs++;
          expect(reply.status === 200 || reply.status === 401).toBe(true);
          expect(secrets.objects.size).toBe(before);
          expect(h.kube.writes()).toHaveLength(0);
          if (reply.status === 200) {
            // Only with the valid secret presented, for the session's host.
            expect(JSON.stringify(clean)).toContain(valid);
            count.webAuthAdmitted++;
          } else {
            expect(typeof reply.body?.why).toBe('string');
            count.webAuthRefused++;
          }
        }),
        params(),
      );
    },
    T,
  );
});

describe('terminal socket under arbitrary frames', () => {
  let gw: TerminalGateway;
  let secrets: MemorySecrets;
  let opened = 0;
  beforeAll(async () => {
    const kube = new FakeKube();
    kube.seed('UCloudJob', runningJob);
    secrets = new MemorySecrets();
    const store = new SessionStore(secrets, NS, 600);
    await store.open(runningJob, 'SHELL', 0); // a live session nobody presents: it must survive
    const exec: ExecPort = {
      open: async (): Promise<ExecStream> => {
        opened++;
        throw new Error('no exec in the fuzz run');
      },
    };
    gw = await startTerminalGateway({ publicKey: keys.der, kube, exec, sessions: store, terminal: { maxPending: 10_000, maxPendingPerClient: 10_000 } });
  });
  afterAll(() => gw.close());

  const call = `jobs.compute.${PROVIDER}.shell.open`;
  const payload = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record(
      {
        type: fc.constantFrom('initialize', 'input', 'resize', 'other'),
        sessionIdentifier: fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)),
        data: fc.string({ maxLength: 200 }),
        cols: fc.integer(),
        rows: fc.integer(),
      },
      { requiredKeys: [] },
    ),
  );
  const frame = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc
      .record({ call: fc.oneof(fc.constant(call), fc.string({ maxLength: 40 })), streamId: fc.string({ maxLength: 8 }), payload })
      .map((v) => JSON.stringify(v)),
  );

  it(
    'every frame is dropped or refused on its stream; no exec opens; no session is consumed',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
          const c = await FrameClient.connect(gw.url);
          for (const f of frames) c.send(f);
          c.send({ call, streamId: 'end', payload: { type: 'resize', cols: 1, rows: 1 } });
          count.inputs += frames.length;
          count.frames += frames.length;
          // Each socket either answers the final frame (nothing initialised it) or was closed.
          await c.waitFor((f) => f.streamId === 'end', 'the final frame answered', 10_000).catch(() => expect(c.closed).toBe(true));
          for (const f of c.frames.filter((x) => x.type === 'response')) {
            expect(f.status).toBeGreaterThanOrEqual(400);
            expect(f.status).toBeLessThan(500);
            expect(typeof f.payload?.why).toBe('string');
          }
          c.ws.terminate();
          expect(opened).toBe(0);
          expect(secrets.objects.size).toBe(1);
        }),
        params(Math.max(10, Math.ceil(RUNS / 5))),
      );
    },
    T,
  );
});

describe('per-drive mounts of symlink-ish and traversal paths', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startAdapter(keys, { config: adapterConfig(keys.der, { jobs: { sharedStorage: { perDriveClaim: 'ucloud-drive-{drive}' } } }) });
  });
  afterAll(() => h.close());

  const segment = fc.oneof(
    fc.constantFrom('..', '.', '', 'link', 'victim', '4711', '99', 'Home_Dir', '%2e%2e', '%2F', '\\', '..\\..', '\u0000', 'a b', '-', 'ø'),
    fc.stringMatching(/^[a-z0-9]{1,8}$/),
  );
  const path = fc.array(segment, { minLength: 0, maxLength: 5 }).map((s) => `/${s.join('/')}`);

  it(
    'refuses (4xx, nothing written) or mounts inside the named drive only',
    async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(path, async (p) => {
          const id = `77${n++}`;
          const job = validJob(id) as { specification: { resources?: unknown[] } };
          job.specification.resources = [{ type: 'file', path: p, readOnly: false }];
          const before = h.kube.writes().length;
          const reply = await h.call('POST', jobsPath(), { items: [job] });
          const wrote = h.kube.writes().length - before;
          count.inputs++;
          count.paths++;
          expect(reply.status).toBeLessThan(500);
          if (reply.status !== 200) {
            expect(typeof reply.body?.why).toBe('string');
            expect(wrote).toBe(0);
            count.pathsRefused++;
            return;
          }
          const cr = (await h.kube.ucloudJobs.list(NS)).items.find((j) => (j as UCloudJob).spec.jobId === id) as UCloudJob;
          for (const m of cr.spec.mounts) {
            const segs = m.subPath.split('/');
            expect(segs.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
            expect(segs[0]).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
          }
          await h.kube.ucloudJobs.delete(NS, cr.metadata.name);
        }),
        params(),
      );
    },
    T,
  );
});
