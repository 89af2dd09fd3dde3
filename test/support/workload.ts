// Scripts what the "user program" in a pod does. kwok plays the kubelet; these annotations
// drive its stages (scripts/cluster/stages): run for a while, then exit with a code.
import type { KubePort } from '../../src/k8s/kube-port.js';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';

export const EXIT_AFTER = 'kwok.test/exit-after';
export const EXIT_CODE = 'kwok.test/exit-code';

export async function exitPod(kc: KubeConfig, namespace: string, pod: string, opts: { after?: string; code?: number } = {}): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.patchNamespacedPod(
    {
      name: pod,
      namespace,
      body: { metadata: { annotations: { [EXIT_AFTER]: opts.after ?? '0s', [EXIT_CODE]: String(opts.code ?? 0) } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function podPhase(kube: KubePort, namespace: string, pod: string): Promise<string | undefined> {
  return (await kube.pods.get(namespace, pod))?.status?.phase;
}
