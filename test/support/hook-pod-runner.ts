// Runs the container of one pod of the operator's image on this machine, for pods that kwok
// "runs" (kwok has no container runtime: it only moves pods through phases). The pod is read back
// from the apiserver as Helm created it; its ConfigMap and Secret volumes are written to a private
// directory, environment values under their mount paths are pointed there, the image's entry point
// (dist/src/main.js, as built by builtEntrypoint) runs with the pod's args, and the exit code is
// handed to kwok (scripts/cluster/stages/test-pod-exit.yaml), which ends the pod Succeeded or
// Failed. So `helm test` waits on the real exit code of the real self-test.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { eventually } from './harness.js';
import { builtEntrypoint, workDir } from './ops.js';
import { exitPod } from './workload.js';

export interface PodRun {
  code: number;
  output: string;
}

/** Writes a volume's files (all keys, or `items`) into `dir`. */
async function materialize(core: CoreV1Api, namespace: string, pod: V1Pod, volumeName: string, dir: string): Promise<void> {
  const volume = pod.spec?.volumes?.find((v) => v.name === volumeName);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!volume || volume.emptyDir) return;
  let data: Record<string, string>;
  let items: Array<{ key: string; path: string }> | undefined;
  if (volume.configMap) {
    const cm = await core.readNamespacedConfigMap({ name: volume.configMap.name!, namespace });
    data = cm.data ?? {};
    items = volume.configMap.items;
  } else if (volume.secret) {
    const secret = await core.readNamespacedSecret({ name: volume.secret.secretName!, namespace });
    data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    items = volume.secret.items;
  } else throw new Error(`volume ${volumeName}: only configMap, secret and emptyDir volumes are supported here`);
  for (const { key, path } of items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
    if (data[key] === undefined) throw new Error(`volume ${volumeName}: no key ${key}`);
    writeFileSync(join(dir, path), data[key]!, { mode: 0o600 });
  }
}

/**
 * Waits until kwok shows `name` Running, runs its first container as described above and ends the
 * pod with the exit code. `image`: the pod must name it (only the operator image can run here).
 */
export async function runPodLocally(kc: KubeConfig, namespace: string, name: string, image: string, timeoutMs = 60_000): Promise<PodRun> {
  const core = kc.makeApiClient(CoreV1Api);
  const pod = await eventually(
    async () => {
      const p = await core.readNamespacedPod({ name, namespace }).catch(() => undefined);
      return p?.status?.phase === 'Running' && !p.metadata?.deletionTimestamp ? p : undefined;
    },
    `pod ${name} Running on a kwok node`,
    timeoutMs,
  );
  const container = pod.spec!.containers[0]!;
  if (container.image !== image) throw new Error(`pod ${name} runs ${container.image}, not the operator image ${image}`);
  const root = workDir(`pod-${name}`);
  try {
    // Longest mount path first, so /etc/x/secret is mapped before /etc/x.
    const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
    const dirs = new Map<string, string>();
    for (const [i, m] of mounts.entries()) {
      const dir = join(root, `volume-${i}`);
      await materialize(core, namespace, pod, m.name, dir);
      dirs.set(m.mountPath, dir);
    }
    const local = (value: string) => {
      for (const [mountPath, dir] of dirs) if (value === mountPath || value.startsWith(`${mountPath}/`)) return dir + value.slice(mountPath.length);
      return value;
    };
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: root };
    for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = local(e.value);
    const main = await builtEntrypoint();
    const child = spawn(process.execPath, [main, ...(container.command ?? []), ...(container.args ?? [])], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    const code = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? 137);
      });
    });
    await exitPod(kc, namespace, name, { after: '0s', code });
    return { code, output };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
