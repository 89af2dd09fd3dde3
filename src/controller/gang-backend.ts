// Which all-or-nothing admission the cluster offers (jobs.gang.backend, docs/adr/0025). `auto` asks
// discovery once whether the apiserver serves scheduling.k8s.io/v1alpha2 podgroups and keeps the
// answer; a PodGroup call that fails because the API went away (404 on the resource) forgets it,
// so the next reconcile asks again. Discovery says what the apiserver serves, not what the
// scheduler does: a site that serves the API must also run kube-scheduler with the gang plugin
// (feature gates GenericWorkload and GangScheduling), as scripts/cluster-up does.
// `kueue` is never detected, only chosen: whether a cluster's jobs go through Kueue's quotas is a
// site's decision (which ClusterQueue, whose quota), not something the API's presence implies;
// a site that names it and does not serve Kueue's API gets an operator that refuses to start.
import { KUEUE_GROUP, KUEUE_VERSION, WORKLOAD_PLURAL } from '../api/kueue/workload.js';
import { POD_GROUP_GROUP, POD_GROUP_PLURAL, POD_GROUP_VERSION } from '../api/scheduling/pod-group.js';
import type { OperatorConfig } from '../config.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';

export type GangBackend = 'native' | 'kueue' | 'none';

export class GangBackendResolver {
  private detected?: Promise<GangBackend>;

  constructor(
    private readonly kube: KubePort,
    private readonly config: OperatorConfig,
    private readonly logger?: Logger,
  ) {}

  /** The backend in force; `auto` is detected on first use and cached. */
  async backend(): Promise<GangBackend> {
    const wanted = this.config.jobs.gang.backend;
    if (wanted !== 'auto') return wanted;
    this.detected ??= this.detect();
    return this.detected;
  }

  /** A PodGroup call failed as if the API were not served: detect again next time. */
  forget(): void {
    if (this.config.jobs.gang.backend === 'auto') this.detected = undefined;
  }

  /**
   * With `kueue`: throws, saying what to do, when the apiserver does not serve Kueue's Workloads
   * (the operator's start-up fails on it rather than leave every job waiting for an admission
   * that no one will give).
   */
  async requireServed(): Promise<void> {
    if (this.config.jobs.gang.backend !== 'kueue') return;
    if (await this.kube.servesResource(KUEUE_GROUP, KUEUE_VERSION, WORKLOAD_PLURAL)) return;
    throw new Error(
      `jobs.gang.backend is kueue, but the apiserver does not serve ${WORKLOAD_PLURAL}.${KUEUE_GROUP}/${KUEUE_VERSION}: install Kueue (v0.17 or later) or set jobs.gang.backend to auto, native or none`,
    );
  }

  private async detect(): Promise<GangBackend> {
    try {
      const served = await this.kube.servesResource(POD_GROUP_GROUP, POD_GROUP_VERSION, POD_GROUP_PLURAL);
      const backend: GangBackend = served ? 'native' : 'none';
      this.logger?.info('Gang admission backend detected', { backend, api: `${POD_GROUP_GROUP}/${POD_GROUP_VERSION}` });
      return backend;
    } catch (e) {
      // Unknown is not "none": a transient discovery failure must not switch a cluster that has
      // gangs to per-pod scheduling. The error fails this reconcile (backoff), and the next asks again.
      this.detected = undefined;
      throw e;
    }
  }
}
