// Baseline process for the scale and recovery benchmarks: the least any controller of these jobs
// must do, with plain client-node (makeInformer: list + watch of UCloudJobs and pods in one
// namespace, objects cached whole). Prints `synced <ms since start>` once both caches are full,
// then idles until killed. Usage: node baseline-informer.js <kubeconfig> <namespace>
import { CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';

const started = Date.now();
const [kubeconfig, namespace] = process.argv.slice(2) as [string, string];
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const pods = makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
const jobs = makeInformer<KubernetesObject>(
  kc,
  `/apis/ucloud.dk/v1alpha1/namespaces/${namespace}/ucloudjobs`,
  () => custom.listNamespacedCustomObject({ group: 'ucloud.dk', version: 'v1alpha1', namespace, plural: 'ucloudjobs' }) as never,
);
for (const inf of [pods, jobs]) inf.on('error', () => setTimeout(() => void inf.start(), 1000));
await Promise.all([pods.start(), jobs.start()]);
process.stdout.write(`synced ${Date.now() - started} pods=${pods.list().length} jobs=${jobs.list().length}\n`);
setInterval(() => undefined, 1 << 30);
