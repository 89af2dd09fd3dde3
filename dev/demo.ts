// The demo: an emulated UCloud/Core submits the spec's example jobs to a real operator process
// and prints what a newcomer wants to see: each job's lifecycle as UCloud/Core hears it, the
// Kubernetes objects behind it, and the /etc/ucloud files one rank sees.
// On a cluster with real nodes (REAL_NODES > 0, from cluster-up's cluster.env) the jobs run real
// containers (a busybox image built locally) and the rank files printed are what rank 1's container
// read and wrote to its log; otherwise kwok plays the kubelet and the files are the ConfigMap's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createClientNodePort } from '../src/k8s/client-node-port.js';
import { configMapName, jobResourceName, podName } from '../src/api/v1alpha1/names.js';
import { LABEL_JOB } from '../src/api/v1alpha1/ucloudjob.js';
import { rankViewOf } from '../src/controller/desired/rank-files.js';
import { UCloudCoreEmulator } from '../test/support/ucloud-core-emulator.js';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const REAL = Number(process.env.REAL_NODES ?? 0) > 0;
const RUN_SECONDS = Number(process.env.DEMO_RUN_SECONDS ?? (REAL ? 8 : 4));
const END_OF_LISTING = '-- end of /etc/ucloud --';
/** What each rank's container runs on a real node: who and where it is, its rank files, its work. */
const REAL_PROGRAM = `echo "rank $UCLOUD_RANK of $UCLOUD_TASK_COUNT: $(hostname), uid $(id -u), job $UCLOUD_JOB_ID"
for f in $(ls /etc/ucloud); do printf '  %-20s %s\\n' "$f" "$(cat /etc/ucloud/$f | tr '\\n' ' ')"; done
echo '${END_OF_LISTING}'
ls /work | sed 's/^/  \\/work\\//'
sleep ${RUN_SECONDS}
echo "rank $UCLOUD_RANK done"`;

/** The spec's job, as it would run on the real-node product with the local busybox image. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the spec's job as parsed JSON
function onRealNode(request: { items: Array<Record<string, any>> }): void {
  const job = request.items[0]!;
  job.specification.product = { id: 'real-compute-1', category: 'real-compute', provider: 'example' };
  Object.assign(job.status.resolvedProduct, { name: 'real-compute-1', category: { name: 'real-compute', provider: 'example' }, cpu: 1, memoryInGigs: 1 });
  const app = job.status.resolvedApplication.invocation;
  app.tool.tool.description.image = 'localhost/ucloud-shell:local';
  app.invocation = ['sh', '-c', REAL_PROGRAM].map((word) => ({ type: 'word', word }));
}
const t0 = Date.now();
const clock = () => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
const say = (s: string) => process.stdout.write(`${clock()}  ${s}\n`);

function fixture(name: string): { items: Array<Record<string, unknown> & { id: string }> } {
  return JSON.parse(readFileSync(join(REPO, 'test/fixtures', name), 'utf8'));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function main(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const kube = createClientNodePort(kc);
  const coreApi = kc.makeApiClient(CoreV1Api);
  const namespace = process.env.DEMO_NAMESPACE ?? `ucloud-demo-${Date.now().toString(36)}`;
  await coreApi.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  await ensureSharedStorage(coreApi, namespace);

  const core = await UCloudCoreEmulator.start({ providerId: 'example' });
  say(`UCloud/Core emulator listening on ${core.url} (provider "${core.providerId}")`);

  const work = mkdtempSync(join(tmpdir(), 'ucloud-demo-'));
  const configPath = join(work, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      providerId: core.providerId,
      namespace,
      ucloud: { coreUrl: core.url },
      http: { host: '127.0.0.1', port: 0, probePort: 0 },
      products: [
        { id: 'example-compute-1', category: 'example-compute', cpu: 1, memoryInGigs: 2 },
        { id: 'example-compute-8', category: 'example-compute', cpu: 8, memoryInGigs: 16 },
        { id: 'real-compute-1', category: 'real-compute', cpu: 1, memoryInGigs: 1 },
      ],
      categories: { 'real-compute': { tolerations: [{ key: 'ucloud.dk/real-node', operator: 'Exists', effect: 'NoSchedule' }] } },
      accounting: { intervalSeconds: 5 },
      // The 3-rank example mounts UCloud files; they come from the site's shared filesystem.
      jobs: {
        sharedStorage: { claimName: SHARED_CLAIM },
        ...(REAL ? { imagePullPolicy: 'Never', networkPolicy: { dnsIpBlocks: [`${process.env.REAL_NODE_IP}/32`] } } : {}),
      },
    }),
  );
  writeFileSync(join(work, 'public.key'), core.publicKeyBase64Der());
  writeFileSync(join(work, 'refresh.token'), core.refreshToken);

  const operator = spawn(process.execPath, [join(REPO, 'dist/src/main.js')], {
    env: {
      ...process.env,
      UCLOUD_OPERATOR_CONFIG: configPath,
      UCLOUD_PUBLIC_KEY_FILE: join(work, 'public.key'),
      UCLOUD_REFRESH_TOKEN_FILE: join(work, 'refresh.token'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ports = await operatorPorts(operator);
  say(`operator running as pid ${operator.pid}: adapter ${ports.adapter}, probes/metrics ${ports.probe}`);

  // The "user programs": once a rank runs, it exits after RUN_SECONDS (kwok plays the kubelet).
  // On real nodes the programs are real and end by themselves.
  const simulated = new Set<string>();
  say(
    REAL
      ? `real nodes: ${process.env.REAL_NODE_NAMES} (containers run for real)`
      : `kwok nodes only${process.env.REAL_NODES_SKIPPED ? ` (no real nodes: ${process.env.REAL_NODES_SKIPPED})` : ''}: kwok plays the kubelet`,
  );
  const simulate = setInterval(() => {
    if (REAL) return;
    void kube.pods.list(namespace).then(async ({ items }) => {
      for (const p of items) {
        const n = p.metadata!.name!;
        if (p.status?.phase !== 'Running' || simulated.has(n)) continue;
        simulated.add(n);
        await coreApi.patchNamespacedPod(
          { name: n, namespace, body: { metadata: { annotations: { 'kwok.test/exit-after': `${RUN_SECONDS}s`, 'kwok.test/exit-code': '0' } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
    });
  }, 200);

  const jobs = [
    { title: 'single-rank batch job (the spec example)', request: fixture('create-simple-batch.json') },
    { title: '3-rank job', request: fixture('multi-rank-job.json') },
  ];
  if (REAL) for (const { request } of jobs) onRealNode(request);
  const seen = new Map<string, number>();
  const watchUpdates = setInterval(() => {
    for (const u of core.updates) {
      const key = `${u.id}:${core.updates.indexOf(u)}`;
      if (seen.has(key)) continue;
      seen.set(key, 1);
      const parts = [u.update.state, u.update.status].filter(Boolean).join(' — ');
      say(`UCloud/Core <- job ${u.id}: ${parts}`);
    }
  }, 100);

  for (const { title, request } of jobs) {
    const id = request.items[0]!.id;
    say(`UCloud/Core -> create job ${id}: ${title}`);
    say(`UCloud/Core    job ${id} is IN_QUEUE`);
    const res = await core.callProvider(ports.adapter, 'POST', `/ucloud/${core.providerId}/jobs`, request);
    if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  }

  const multi = jobs[1]!.request.items[0]!;
  const name = jobResourceName(multi.id);
  const cm = await waitFor('rank files', () => kube.configMaps.get(namespace, configMapName(name)));
  await waitFor('rank pods', async () => ((await kube.pods.list(namespace, `${LABEL_JOB}=${name}`)).items.length === 3 ? true : undefined));
  if (REAL) {
    // Read from inside the running container: its log, up to the end of its listing.
    const log = await waitFor(
      'rank 1 to list /etc/ucloud',
      async () => {
        const text = await coreApi.readNamespacedPodLog({ name: podName(name, 1), namespace, container: 'user-job' }).catch(() => '');
        return text.includes(END_OF_LISTING) ? text : undefined;
      },
      120_000,
    );
    process.stdout.write(`\nrank 1 of job ${multi.id} (pod ${podName(name, 1)}), its container's own output:\n`);
    process.stdout.write(
      log
        .replace(`${END_OF_LISTING}\n`, '')
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n') + '\n\n',
    );
  } else {
    process.stdout.write(`\n/etc/ucloud as rank 1 of job ${multi.id} sees it (pod ${podName(name, 1)}):\n`);
    for (const [file, content] of Object.entries(rankViewOf(cm.data ?? {}, 1)).sort()) {
      process.stdout.write(`  ${file.padEnd(20)} ${content.trimEnd().split('\n').join('\n'.padEnd(24))}\n`);
    }
    process.stdout.write('\n');
  }

  for (const { request } of jobs) {
    const id = request.items[0]!.id;
    await waitFor(`job ${id} to finish`, () => (core.jobStates(id).some((s) => ['SUCCESS', 'FAILURE', 'EXPIRED'].includes(s)) ? true : undefined), 120_000);
  }
  await waitFor('final charges', () => (jobs.every(({ request }) => core.chargedPeriods(request.items[0]!.id) > 0) ? true : undefined), 30_000).catch(
    () => undefined,
  );
  clearInterval(simulate);
  await new Promise((r) => setTimeout(r, 300));
  clearInterval(watchUpdates);

  process.stdout.write('\nSummary (as UCloud/Core saw it):\n');
  for (const { title, request } of jobs) {
    const id = request.items[0]!.id;
    process.stdout.write(`  job ${id.padEnd(8)} IN_QUEUE -> ${core.jobStates(id).join(' -> ')}   charged ${core.chargedPeriods(id)} period(s)   (${title})\n`);
  }
  const objects = await kube.ucloudJobs.list(namespace);
  process.stdout.write(`\nkubectl get ucloudjobs -n ${namespace} would show ${objects.items.length} UCloudJob(s); try it with KEEP_CLUSTER=1.\n`);

  operator.kill('SIGTERM');
  await new Promise((r) => operator.once('exit', r));
  await core.close();
  const failed = jobs.some(({ request }) => !core.jobStates(request.items[0]!.id).includes('SUCCESS'));
  process.exitCode = failed ? 1 : 0;
}

const SHARED_CLAIM = 'ucloud-files';

/**
 * The site's shared filesystem, as a cluster admin would provide it: a PersistentVolume bound to
 * a claim in the jobs' namespace. kwok never mounts it; the binding is real (kube-controller-manager).
 */
async function ensureSharedStorage(coreApi: CoreV1Api, namespace: string): Promise<void> {
  const pvName = `${namespace}-files`;
  await coreApi
    .createPersistentVolume({
      body: {
        metadata: { name: pvName, labels: { 'ucloud.dk/demo': 'true' } },
        spec: {
          capacity: { storage: '1Ti' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: '',
          // On real nodes the kubelet really mounts it: a directory scripts/demo made (and removes).
          hostPath: { path: process.env.DEMO_FILES_DIR ?? '/srv/ucloud' },
          claimRef: { namespace, name: SHARED_CLAIM },
        },
      },
    })
    .catch(() => undefined);
  await coreApi
    .createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: SHARED_CLAIM },
        spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: pvName, resources: { requests: { storage: '1Ti' } } },
      },
    })
    .catch(() => undefined);
}

/** Reads the operator's "ready" log line for the ports it bound (it listens on port 0). */
function operatorPorts(child: ChildProcess): Promise<{ adapter: string; probe: string }> {
  return new Promise((resolvePorts, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('operator did not become ready in 60s')), 60_000);
    child.once('exit', (code) => reject(new Error(`operator exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; adapterPort?: number; probePort?: number; level?: string };
          if (entry.msg === 'ucloud-operator ready') {
            clearTimeout(timer);
            resolvePorts({ adapter: `http://127.0.0.1:${entry.adapterPort}`, probe: `http://127.0.0.1:${entry.probePort}` });
          } else if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(line + '\n');
        } catch {
          process.stderr.write(line + '\n');
        }
      }
    });
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
