// The kubelet's Summary API (`GET https://<node InternalIP>:<kubelet port>/stats/summary`), the
// source of a followed job's utilization charts (docs/adr/0027). Asked of the kubelet directly,
// not through the apiserver's node proxy: the proxy needs RBAC `nodes/proxy`, which also lets its
// holder exec into every pod through the kubelet, while a kubelet with webhook authorization asks
// only for `nodes/stats` (get) for this path. The kubelet's serving certificate is always verified
// (against the cluster CA or interactive.utilization.kubeletCaFile) because the request carries
// the operator's bearer token; a kubelet with a self-signed certificate gives no charts.
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { z } from 'zod';

// Only the fields read here (k8s.io/kubelet/pkg/apis/stats/v1alpha1); the rest is ignored.
const CpuStatsSchema = z.object({ time: z.string(), usageNanoCores: z.number().optional(), usageCoreNanoSeconds: z.number().optional() }).loose();
const MemoryStatsSchema = z.object({ time: z.string(), workingSetBytes: z.number().optional() }).loose();
const InterfaceStatsSchema = z.object({ name: z.string(), rxBytes: z.number().optional(), txBytes: z.number().optional() }).loose();
const NetworkStatsSchema = z.object({ time: z.string(), interfaces: z.array(InterfaceStatsSchema).optional() }).loose();
const ContainerStatsSchema = z.object({ name: z.string(), cpu: CpuStatsSchema.optional(), memory: MemoryStatsSchema.optional() }).loose();
export const PodStatsSchema = z
  .object({
    podRef: z.object({ name: z.string(), namespace: z.string() }).loose(),
    containers: z.array(ContainerStatsSchema).optional(),
    network: NetworkStatsSchema.optional(),
  })
  .loose();
export const SummarySchema = z.object({ pods: z.array(PodStatsSchema).default([]) }).loose();
export type PodStats = z.infer<typeof PodStatsSchema>;
export type Summary = z.infer<typeof SummarySchema>;

export interface KubeletStatsPort {
  /** The Summary of one node's kubelet; rejects on any failure (unreachable, 401/403, bad TLS, bad JSON). */
  summary(nodeName: string, signal?: AbortSignal): Promise<Summary>;
}

/** Where a node's kubelet listens: its InternalIP and the port it reports. */
export function kubeletEndpoint(node: V1Node): { host: string; port: number } | undefined {
  const host = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  return host && port ? { host, port } : undefined;
}

export interface KubeletStatsOptions {
  /** PEM bundle that signs the kubelets' serving certificates (default: the cluster CA of `kc`). */
  caFile?: string;
  timeoutMs?: number;
  /** A larger answer is refused (a node with 110 pods answers some hundred KiB). */
  maxBytes?: number;
  /** Node addresses are read again after this long (and after a failure). */
  nodeCacheMs?: number;
}

export function createKubeletStats(kc: KubeConfig, opts: KubeletStatsOptions = {}): KubeletStatsPort {
  const core = kc.makeApiClient(CoreV1Api);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  const nodeCacheMs = opts.nodeCacheMs ?? 60_000;
  const ca = opts.caFile ? readFileSync(opts.caFile) : undefined;
  const endpoints = new Map<string, { at: number; host: string; port: number }>();

  async function endpointOf(nodeName: string) {
    const cached = endpoints.get(nodeName);
    if (cached && Date.now() - cached.at < nodeCacheMs) return cached;
    const found = kubeletEndpoint(await core.readNode({ name: nodeName }));
    if (!found) throw new Error(`node ${nodeName} reports no InternalIP or kubelet port`);
    const entry = { at: Date.now(), ...found };
    endpoints.set(nodeName, entry);
    return entry;
  }

  return {
    async summary(nodeName, signal) {
      const { host, port } = await endpointOf(nodeName);
      const options: RequestOptions = {};
      // The operator's own credentials (bearer token or client certificate) and the cluster CA.
      await kc.applyToHTTPSOptions(options);
      try {
        const body = await get({ ...options, host, port, path: '/stats/summary', method: 'GET', ca: ca ?? options.ca }, { timeoutMs, maxBytes, signal });
        return SummarySchema.parse(JSON.parse(body));
      } catch (e) {
        endpoints.delete(nodeName);
        throw e;
      }
    },
  };
}

function get(options: RequestOptions, limits: { timeoutMs: number; maxBytes: number; signal?: AbortSignal }): Promise<string> {
  // The token goes only to a kubelet whose certificate verifies, whatever the kubeconfig says, and
  // the apiserver's TLS server name does not apply to a kubelet.
  const { servername: _servername, agent: _agent, ...rest } = options;
  return new Promise((resolve, reject) => {
    const req = request({ ...rest, rejectUnauthorized: true, agent: false, timeout: limits.timeoutMs, signal: limits.signal }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`kubelet answered ${res.statusCode} for /stats/summary`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxBytes) {
          req.destroy(new Error(`kubelet summary larger than ${limits.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`kubelet did not answer within ${limits.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
