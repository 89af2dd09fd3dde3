// Kueue for the tests that use the kueue gang backend (docs/adr/0025): its manager, built from its
// Go module, started against the test control plane by scripts/kueue-up and stopped (its CRDs
// removed with every Kueue object) by scripts/kueue-down, so no other test file ever sees it.
// Only test/integration/kueue-queue.test.ts starts it.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { KUEUE_GROUP, KUEUE_VERSION } from '../../src/api/kueue/workload.js';
import { CLUSTER_DIR, REPO } from './cluster-env.js';

export function startKueue(): void {
  execFileSync('bash', [resolve(REPO, 'scripts/kueue-up'), '--dir', CLUSTER_DIR], { stdio: 'inherit' });
}

export function stopKueue(): void {
  execFileSync('bash', [resolve(REPO, 'scripts/kueue-down'), '--dir', CLUSTER_DIR], { stdio: 'inherit' });
}

/** Creates Kueue objects (ResourceFlavor, ClusterQueue, LocalQueue) as a site admin would. */
export class KueueAdmin {
  private readonly api: CustomObjectsApi;
  private readonly made: Array<{ plural: string; name: string; namespace?: string }> = [];

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async flavor(name: string, nodeLabels: Record<string, string>, tolerations: unknown[] = []): Promise<void> {
    await this.create('resourceflavors', { metadata: { name }, spec: { nodeLabels, tolerations } });
  }

  /** A ClusterQueue over one flavor with these nominal quotas, for the namespaces `namespaces`, first come first served. */
  async clusterQueue(name: string, flavor: string, quota: Record<string, string>, namespaces: string[]): Promise<void> {
    await this.create('clusterqueues', {
      metadata: { name },
      spec: {
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: namespaces }] },
        queueingStrategy: 'StrictFIFO',
        resourceGroups: [
          {
            coveredResources: Object.keys(quota),
            flavors: [{ name: flavor, resources: Object.entries(quota).map(([r, q]) => ({ name: r, nominalQuota: q })) }],
          },
        ],
      },
    });
  }

  async localQueue(namespace: string, name: string, clusterQueue: string): Promise<void> {
    await this.create('localqueues', { metadata: { name, namespace }, spec: { clusterQueue } }, namespace);
  }

  /** Deletes what this admin made, newest first. */
  async cleanUp(): Promise<void> {
    for (const o of this.made.reverse()) {
      const common = { group: KUEUE_GROUP, version: KUEUE_VERSION, plural: o.plural, name: o.name };
      await (o.namespace ? this.api.deleteNamespacedCustomObject({ ...common, namespace: o.namespace }) : this.api.deleteClusterCustomObject(common)).catch(
        () => undefined,
      );
    }
  }

  private async create(plural: string, body: { metadata: { name: string; namespace?: string } } & Record<string, unknown>, namespace?: string): Promise<void> {
    const kind = { resourceflavors: 'ResourceFlavor', clusterqueues: 'ClusterQueue', localqueues: 'LocalQueue' }[plural];
    const full = { apiVersion: `${KUEUE_GROUP}/${KUEUE_VERSION}`, kind, ...body };
    const common = { group: KUEUE_GROUP, version: KUEUE_VERSION, plural };
    if (namespace) await this.api.createNamespacedCustomObject({ ...common, namespace, body: full });
    else await this.api.createClusterCustomObject({ ...common, body: full });
    this.made.push({ plural, name: body.metadata.name, namespace });
  }
}
