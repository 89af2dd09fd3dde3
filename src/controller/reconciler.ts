// One reconcile of one UCloudJob: read it and its pods from the caches, plan, persist the plan's
// status (before acting, so a crash never leaves an action without its record), then converge the
// children. Idempotent: running it twice, or after a crash at any line, does the same thing.
import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { LABEL_JOB, UCloudJobSchema, isFinal, unacknowledged, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import { configMapName, jobResourceName, networkPolicyName, podName, serviceName, sshObjectName } from '../api/v1alpha1/names.js';
import type { OperatorConfig } from '../config.js';
import { isConflict, isNotFound, toKubeError } from '../k8s/errors.js';
import type { KubePort } from '../k8s/kube-port.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { JobsControlPort } from '../ucloud/control-client.js';
import { policySpecHash, type ChildIdentity } from './child-trim.js';
import { ConditionType, Reason, getCondition, setCondition } from './conditions.js';
import { configMap } from './desired/rank-files.js';
import { buildPod, type PodOptions } from './desired/pod-builder.js';
import { headlessService } from './desired/service-builder.js';
import { networkPolicyFor } from './desired/network-policy-builder.js';
import { peerAliasService, peerEndpointSlices, peerServiceName, rankAddresses, type PeerAddresses } from './desired/peer-aliases.js';
import { dueWindows } from './accounting.js';
import { markNoCredits } from './no-credits.js';
import { livePodsByRank, planJob, type GangInput, type Plan } from './job-planner.js';
import { GangBackendResolver, type GangBackend } from './gang-backend.js';
import { WaitQueue, before, type WaitEntry } from './wait-queue.js';
import { needsPodGroup, podGroupFor, podGroupName } from './desired/pod-group-builder.js';
import { KueueAdmission, type KueueState } from './kueue-admission.js';
import type { Workload } from '../api/kueue/workload.js';
import { specProblems } from './spec-check.js';
import { specElided } from './job-trim.js';
import { teardownDelayMs } from './teardown-timing.js';
import { JobEventRecorder, jobRef, type EventType } from './job-events.js';
import { keyOf, objectKey, splitKey } from '../k8s/object-key.js';
import { WritePriority } from '../k8s/write-priority.js';

export interface ReconcilerDeps {
  kube: KubePort;
  config: OperatorConfig;
  logger: Logger;
  metrics?: OperatorMetrics;
  control?: JobsControlPort;
  /** The UCloudJob as the cache holds it: stored by the apiserver, not yet checked against our schema (reconcile parses it). */
  getJob: (namespace: string, name: string) => UCloudJob | undefined;
  listJobs: () => readonly UCloudJob[];
  podsOf: (namespace: string, name: string) => readonly V1Pod[];
  /** The job's ConfigMap, Service and NetworkPolicy as the child caches hold them (docs/adr/0011). */
  childrenOf?: (namespace: string, name: string) => { configMap?: ChildIdentity; service?: ChildIdentity; networkPolicy?: ChildIdentity };
  /** Names of the jobs that named this one as a peer (an index); without it listJobs is scanned. */
  namingJobs?: (namespace: string, name: string) => readonly string[];
  /** Reconcile this job soon (the wait queue's next job, when room may have freed). */
  requeue?: (namespace: string, name: string) => void;
  /** The job's Kueue Workload as the Workload cache holds it (backend kueue); without it, read from the apiserver. */
  workloadOf?: (namespace: string, name: string) => Workload | undefined;
  /** Why a job can no longer be placed on the cluster's nodes (never-fits.ts): it waits, saying so, and holds no one. */
  neverFits?: (job: UCloudJob) => string | undefined;
  /** Shared with the background writers, which give way to this reconciler's state writes (write-priority.ts). */
  priority?: WritePriority;
  now?: () => Date;
}

/** Backstop while a torn-down job's pods terminate (their deletion events usually come first). */
const TEARDOWN_RECHECK_MS = 5000;

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export class Reconciler {
  private readonly firstMissingAt = new Map<string, Map<number, number>>();
  /** uid → hash of children already ensured (saves apiserver round trips on every reconcile). */
  private readonly ensured = new Map<string, string>();
  private readonly tornDown = new Set<string>();
  /** uid → when this process first saw the job ended (bounds its wait for the report; teardown-timing.ts). */
  private readonly endedSeenAt = new Map<string, number>();
  /** The workers' state writes go first; teardowns of finished jobs give way to them too (teardown-timing.ts). */
  private readonly priority: WritePriority;
  /** uid of jobs whose children other than pods and the NetworkPolicy are already deleted. */
  private readonly childrenDeleted = new Set<string>();
  /**
   * uid → how many child changes (deletions, foreign edits) were seen. An ensure that began before
   * a change must not record `ensured` when it ends: its creates may have found the child still
   * there (AlreadyExists) just before it was deleted, and the requeued reconcile would then trust
   * the stale record and never recreate it.
   */
  private readonly childChanges = new Map<string, number>();
  /** Jobs waiting for room, per product category, first come first served (docs/adr/0025). */
  readonly waitQueue = new WaitQueue();
  readonly gangBackend: GangBackendResolver;
  private readonly kueue: KueueAdmission;
  /** uid of jobs whose PodGroup is known to exist → when that was last checked (ms). */
  private readonly podGroupEnsured = new Map<string, number>();

  private readonly events: JobEventRecorder;

  constructor(private readonly deps: ReconcilerDeps) {
    this.priority = deps.priority ?? new WritePriority();
    this.events = new JobEventRecorder(deps.kube, deps.logger, deps.metrics, undefined, this.priority);
    this.gangBackend = new GangBackendResolver(deps.kube, deps.config, deps.logger);
    this.kueue = new KueueAdmission(deps.kube, deps.config, deps.workloadOf, deps.now);
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const raw = this.deps.getJob(namespace, name);
    const key = objectKey(namespace, name);
    if (!raw) {
      this.firstMissingAt.delete(key);
      return {};
    }
    const parsed = UCloudJobSchema.safeParse(raw);
    if (!parsed.success) {
      await this.reportInvalid(raw, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return {};
    }
    const job = parsed.data;
    if (job.metadata.deletionTimestamp) return {};
    const problems = specProblems(job, this.deps.config);
    if (problems.length) {
      await this.reportInvalid(raw, problems.join('; '), Reason.UnsupportedSpec);
      return {};
    }
    const now = (this.deps.now ?? (() => new Date()))();
    const log = this.deps.logger.child({ job: key, jobId: job.spec.jobId });

    const pods = this.deps.podsOf(namespace, name);
    const missing = this.firstMissingAt.get(key) ?? new Map<number, number>();
    const backend = isFinal(job.status?.state) ? 'none' : await this.gangBackend.backend();
    const kueue = backend === 'kueue' && !job.status?.startedAt ? await this.kueueState(raw, job, pods) : undefined;
    const gang = this.gangInput(job, key, backend, pods, kueue);
    const preempted = backend === 'kueue' && job.status?.startedAt ? await this.kueue.preempted(job) : undefined;
    const plan = planJob({ job, pods, now, config: this.deps.config, firstMissingAt: missing, gang, preempted });
    this.updateWaitQueue(job, key, plan, backend);

    if (plan.checkCreditsFirst && this.deps.control) {
      const res = await this.deps.control.checkCredits([{ id: job.spec.jobId, chargeId: `${job.spec.jobId}_check`, units: job.spec.replicas, periods: 1 }]);
      // "No credits" has one writer (no-credits.ts); the mark's watch event brings the job back
      // here, and the planner ends it then.
      if (res.insufficientFunds.some((f) => f.id === job.spec.jobId)) {
        if (!(await markNoCredits(this.deps.kube, this.deps.logger, job))) throw new Error('could not record insufficient funds');
        return {};
      }
    }

    const tracked = new Map<number, number>();
    for (const r of plan.missingRanks) tracked.set(r, missing.get(r) ?? now.getTime());
    if (tracked.size) this.firstMissingAt.set(key, tracked);
    else this.firstMissingAt.delete(key);

    let stored: UCloudJob | undefined;
    if (plan.statusChanged) {
      try {
        stored = await this.priority.stateWrite(() => this.deps.kube.ucloudJobs.replaceStatus({ ...raw, status: plan.status } as UCloudJob));
      } catch (e) {
        // Someone (the adapter, the reporter) wrote since our cache: the watch brings the new
        // version and the key is queued again; retrying now would only conflict again.
        if (isConflict(e)) return { requeueAfterMs: 200 };
        if (isNotFound(e)) return {};
        throw e;
      }
    }
    // Transitions always come with a status change, so they are in `stored`.
    // Queued, not awaited: the state is stored, and the Event (a courtesy) must not hold this
    // worker from the next job's status write while many jobs end at once.
    for (const tr of plan.transitions) {
      log.info('Job state changed', { from: tr.from, to: tr.to, message: tr.message });
      this.events.emit(jobRef(job), tr.to === 'FAILURE' || tr.to === 'EXPIRED' ? 'Warning' : 'Normal', stateReason(tr.to), 'Reconcile', tr.message);
    }

    // A job that has just ended is torn down on its next turn in the queue: when many end at once,
    // every final state is written (and reported) before the first teardown's deletes.
    if (plan.teardown && plan.transitions.length) return { requeueAfterMs: 0 };
    if (plan.teardown) {
      // Ranks that ended by themselves wait for Core to have the final state (teardown-timing.ts);
      // the reporter's acknowledgement brings the job back.
      const uid = job.metadata.uid ?? key;
      if (!this.endedSeenAt.has(uid)) this.endedSeenAt.set(uid, now.getTime());
      const wait = this.tornDown.has(uid)
        ? 0
        : teardownDelayMs({ ...job, status: plan.status }, pods, this.endedSeenAt.get(uid)!, now.getTime(), this.priority.stateWritesInFlight);
      if (wait > 0) return { requeueAfterMs: wait };
      // The UCloudJob owns the policy: retiring it before the last pod is gone would let the
      // garbage collector delete the policy under a terminating pod.
      if (!(await this.teardown(job, pods))) return { requeueAfterMs: TEARDOWN_RECHECK_MS };
      return this.retire({ ...job, status: plan.status }, now);
    }
    const current = stored ?? ({ ...raw, status: plan.status } as UCloudJob);
    try {
      if (plan.ensureSupporting) await this.ensureSupporting(job, specElided(raw));
    } catch (e) {
      throw await this.createRefused(current, Reason.FailedCreateChild, "the job's ConfigMap, Service or NetworkPolicy", e);
    }
    const podOptions = await this.gangPodOptions(current, job, plan, backend, now, kueue);
    for (const rank of plan.createRanks) {
      try {
        await this.deps.kube.pods.create(namespace, buildPod(job, rank, this.deps.config, podOptions));
      } catch (e) {
        throw await this.createRefused(current, Reason.FailedCreatePod, `pod ${podName(name, rank)}`, e);
      }
    }
    if (plan.createRanks.length || plan.ensureSupporting) await this.createsAccepted(current);
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }

  /**
   * The apiserver refused a child (a ResourceQuota, an admission webhook, Pod Security): said once
   * per distinct refusal as a Warning Event and the ChildrenCreated condition, so `kubectl describe
   * uj` and `kubectl get uj -o wide` show why the job is stuck. Returns the error for the controller's
   * backoff (transient errors — network, 5xx, conflicts — only go there, with no condition).
   */
  private async createRefused(job: UCloudJob, reason: string, what: string, e: unknown): Promise<unknown> {
    const err = toKubeError(e);
    if (err.code < 400 || err.code >= 500 || err.code === 409 || err.code === 429) return e;
    const message = `Creating ${what} was refused (${err.code} ${err.reason}): ${err.message}`.slice(0, 4000);
    this.deps.metrics?.childCreateRefused.inc({ reason });
    const said = (j: UCloudJob | undefined) => {
      const c = getCondition(j?.status?.conditions, ConditionType.ChildrenCreated);
      return c?.status === 'False' && c.message === message;
    };
    if (said(job)) return e;
    // The retry usually comes before the cache has our condition: on this (rare) path, ask the
    // apiserver rather than say the same refusal again.
    const fresh = await this.deps.kube.ucloudJobs.get(job.metadata.namespace!, job.metadata.name).catch(() => undefined);
    if (said(fresh)) return e;
    await this.event(job, 'Warning', reason, message);
    await this.writeChildrenCreated(fresh ?? job, { status: 'False', reason, message });
    return e;
  }

  /** After a refusal, the first pass whose creates all succeed turns the condition back to True. */
  private async createsAccepted(job: UCloudJob): Promise<void> {
    if (getCondition(job.status?.conditions, ConditionType.ChildrenCreated)?.status !== 'False') return;
    await this.writeChildrenCreated(job, { status: 'True', reason: Reason.ChildrenCreated, message: '' });
  }

  private async writeChildrenCreated(job: UCloudJob, c: { status: 'True' | 'False'; reason: string; message: string }): Promise<void> {
    const conditions = setCondition(
      job.status?.conditions,
      { type: ConditionType.ChildrenCreated, ...c, observedGeneration: job.metadata.generation },
      new Date(),
    );
    try {
      // With the resourceVersion read: a concurrent status write wins, and the next pass says it again.
      await this.deps.kube.ucloudJobs.replaceStatus({ ...job, status: { ...job.status, conditions } });
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) this.deps.logger.warn('Could not record the ChildrenCreated condition', { job: keyOf(job), err: e });
    }
  }

  /**
   * jobs.retainFinishedSeconds: a final UCloudJob is deleted once it is settled (UCloud/Core has
   * every update and every charge) and has been kept that long. Never before it is settled: the
   * CR is the only record of what is still owed to UCloud/Core.
   */
  private async retire(job: UCloudJob, now: Date): Promise<ReconcileResult> {
    const retainMs = this.deps.config.jobs.retainFinishedSeconds * 1000;
    if (!retainMs || !job.status?.finishedAt) return {};
    // The ack brings us back. A job Core does not know will never be acknowledged: nothing is owed.
    if (unacknowledged(job.status).length && !job.status.unknownToCore) return {};
    const acc = this.deps.config.accounting;
    if (acc.enabled && dueWindows(job, now, acc.intervalSeconds * 1000, acc.minuteMillis).length) return { requeueAfterMs: 5000 };
    const left = Date.parse(job.status.finishedAt) + retainMs - now.getTime();
    if (left > 0) return { requeueAfterMs: left };
    await this.deps.kube.ucloudJobs.delete(job.metadata.namespace!, job.metadata.name);
    this.deps.logger.info('Deleted a settled UCloudJob after its retention period', { job: keyOf(job) });
    return {};
  }

  /** Jobs that named this job as a peer: their pods must be admitted by our NetworkPolicy. */
  private peersOfOthers(job: UCloudJob): string[] {
    const candidates = this.deps.namingJobs
      ? this.deps.namingJobs(job.metadata.namespace!, job.metadata.name).map((n) => this.deps.getJob(job.metadata.namespace!, n))
      : this.deps.listJobs();
    const names: string[] = [];
    for (const other of candidates) {
      if (!other || other.metadata?.name === job.metadata.name || isFinal(other.status?.state)) continue;
      if (other.spec?.peers?.some((p) => p.jobId === job.spec.jobId)) names.push(other.metadata.name);
    }
    return [...new Set(names)].sort();
  }

  /** Pod IPs of every rank of every peer, from the pod cache (the slices follow them). */
  private peerAddresses(job: UCloudJob): PeerAddresses {
    const out: Record<string, Array<string | undefined>> = {};
    for (const peer of job.spec.peers) {
      const peerJob = this.deps.getJob(job.metadata.namespace!, jobResourceName(peer.jobId));
      // A peer that has ended (or is gone) has no addresses worth publishing: its IPs are free.
      if (!peerJob || peerJob.spec?.jobId !== peer.jobId || isFinal(peerJob.status?.state)) {
        out[peer.jobId] = [];
        continue;
      }
      out[peer.jobId] = rankAddresses(this.deps.podsOf(job.metadata.namespace!, peerJob.metadata.name));
    }
    return out;
  }

  /** `elided`: the cached job lacks its ConfigMap's file contents (job-trim.ts); they are read if the ConfigMap is written. */
  private async ensureSupporting(job: UCloudJob, elided = false): Promise<void> {
    const ns = job.metadata.namespace!;
    const uid = job.metadata.uid ?? job.metadata.name;
    const policy: V1NetworkPolicy = networkPolicyFor(job, this.deps.config, this.peersOfOthers(job));
    const slices = peerEndpointSlices(job, this.deps.config, this.peerAddresses(job));
    // Hashed: one is kept per job, and the policy's JSON alone is ~1 KB (10 MB at 10,000 jobs).
    const fingerprint = createHash('sha1')
      .update(`${job.metadata.generation}:${JSON.stringify(policy.spec)}:${JSON.stringify(slices.map((s) => [s.metadata?.name, s.endpoints]))}`)
      .digest('base64');
    if (this.ensured.get(uid) === fingerprint) return;
    const changesBefore = this.childChanges.get(uid) ?? 0;
    if (!slices.length && !peerAliasService(job, this.deps.config) && this.childrenCached(job, policy)) {
      this.deps.metrics?.childrenFromCache.inc();
      this.ensured.set(uid, fingerprint);
      return;
    }
    await this.deps.kube.configMaps.create(ns, configMap(elided ? await this.storedJob(job) : job, this.deps.config));
    await this.deps.kube.services.create(ns, headlessService(job, this.deps.config));
    const res = await this.deps.kube.networkPolicies.create(ns, policy);
    if (!res.created && policySpecHash(res.object.spec) !== policySpecHash(policy.spec)) {
      await this.deps.kube.networkPolicies.replace(ns, policy.metadata!.name!, {
        ...policy,
        metadata: { ...policy.metadata, resourceVersion: res.object.metadata?.resourceVersion },
      });
    }
    await this.ensurePeerAliases(job, slices);
    if ((this.childChanges.get(uid) ?? 0) === changesBefore) this.ensured.set(uid, fingerprint);
  }

  /** The job as stored, with the ConfigMap contents the cache leaves out, for the same spec as `job`. */
  private async storedJob(job: UCloudJob): Promise<UCloudJob> {
    this.deps.metrics?.storedJobReads.inc();
    const parsed = UCloudJobSchema.safeParse(await this.deps.kube.ucloudJobs.get(job.metadata.namespace!, job.metadata.name));
    const m = parsed.data?.metadata;
    // A spec changed since the cached copy (or the job went): the watch brings the job back with
    // it, and the ConfigMap is written from that one.
    if (!parsed.success || m?.uid !== job.metadata.uid || m?.generation !== job.metadata.generation) {
      throw new Error(`UCloudJob ${keyOf(job)} changed since it was cached; its ConfigMap waits for the new version`);
    }
    return parsed.data;
  }

  /**
   * After a restart (or a resync) the children are usually all there: the caches say so without
   * six apiserver calls per job (three creates answered AlreadyExists, three reads), which at
   * 10,000 jobs was most of the recovery time. The NetworkPolicy's content is checked (its spec
   * digest against the desired one), as the create path checks it; ConfigMap and Service, like
   * there, only exist. A cache that is behind a deletion is corrected by the delete event, which
   * sends the job back through the create path (childChanged).
   */
  private childrenCached(job: UCloudJob, policy: V1NetworkPolicy): boolean {
    const c = this.deps.childrenOf?.(job.metadata.namespace!, job.metadata.name);
    const present = (o?: ChildIdentity) => !!o && !o.metadata.deletionTimestamp;
    return !!c && present(c.configMap) && present(c.service) && present(c.networkPolicy) && c.networkPolicy!.specHash === policySpecHash(policy.spec);
  }

  /** The `<job>-peers` Service and its EndpointSlices: create or replace by name, drop the rest. */
  private async ensurePeerAliases(job: UCloudJob, slices: readonly V1EndpointSlice[]): Promise<void> {
    const service = peerAliasService(job, this.deps.config);
    if (!service) return;
    const ns = job.metadata.namespace!;
    await this.deps.kube.services.create(ns, service);
    for (const slice of slices) {
      const res = await this.deps.kube.endpointSlices.create(ns, slice);
      if (res.created) continue;
      const current = res.object;
      const same =
        JSON.stringify(current.endpoints ?? []) === JSON.stringify(slice.endpoints ?? []) &&
        current.addressType === slice.addressType &&
        Object.entries(slice.metadata?.labels ?? {}).every(([k, v]) => current.metadata?.labels?.[k] === v);
      if (!same) {
        await this.deps.kube.endpointSlices.replace(ns, slice.metadata!.name!, {
          ...slice,
          metadata: { ...slice.metadata, resourceVersion: current.metadata?.resourceVersion },
        });
      }
    }
    const wanted = new Set(slices.map((s) => s.metadata?.name));
    const existing = await this.deps.kube.endpointSlices.list(ns, this.peerSliceSelector(job.metadata.name));
    for (const old of existing.items) {
      if (!wanted.has(old.metadata?.name)) await this.deps.kube.endpointSlices.delete(ns, old.metadata!.name!);
    }
  }

  private peerSliceSelector(jobName: string): string {
    return `${LABEL_JOB}=${jobName},kubernetes.io/service-name=${peerServiceName(jobName)}`;
  }

  /**
   * Deletes the job's children. The job's NetworkPolicy goes last and only once no pod of the job
   * exists any more, terminating ones included: a pod in its grace period (or held there by a
   * finalizer, or a node that does not answer) still runs the user's code, and without its policy
   * it would be unpoliced for that long (IM2 reaches the same by letting the rank pod own the
   * policy: provider-integration/im2/pkg/integrations/k8s/containers/job_builder.go). "No pod" is
   * asked of the apiserver, not of the cache, before the policy is deleted. Returns whether the
   * teardown is complete; until it is the job comes back (pod deletions requeue it, and a backstop).
   */
  private async teardown(job: UCloudJob, pods: readonly V1Pod[]): Promise<boolean> {
    const ns = job.metadata.namespace!;
    const name = job.metadata.name;
    const uid = job.metadata.uid ?? name;
    // The deletes of one teardown are independent of each other (only the policy waits, below):
    // sent together, a teardown costs one apiserver round trip instead of one per child.
    const deletes: Array<Promise<unknown>> = [];
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      deletes.push(this.deps.kube.pods.delete(ns, pod.metadata!.name!, { gracePeriodSeconds: 10 }));
    }
    if (this.tornDown.has(uid)) {
      await allSettledOrThrow(deletes);
      return true;
    }
    const kueue = this.deps.config.jobs.gang.backend === 'kueue';
    // Kueue's quota goes back as soon as no rank holds a node, not only once the pods are deleted.
    if (kueue) deletes.push(this.kueue.release(job, pods, false));
    const childrenDeleted = this.childrenDeleted.has(uid);
    if (!childrenDeleted) deletes.push(...this.childDeletes(job, pods));
    await allSettledOrThrow(deletes);
    if (!childrenDeleted) this.childrenDeleted.add(uid);
    if (pods.length) return false;
    const left = await this.deps.kube.pods.list(ns, `${LABEL_JOB}=${name}`);
    if (left.items.length) return false;
    await this.deps.kube.networkPolicies.delete(ns, networkPolicyName(name));
    if (kueue) await this.kueue.release(job, [], true);
    this.ensured.delete(uid);
    this.childChanges.delete(uid);
    this.childrenDeleted.delete(uid);
    this.tornDown.add(uid);
    this.endedSeenAt.delete(uid);
    return true;
  }

  /** The deletes of every child but the job's pods in the cache and its NetworkPolicy (teardown). */
  private childDeletes(job: UCloudJob, pods: readonly V1Pod[]): Array<Promise<unknown>> {
    const ns = job.metadata.namespace!;
    const name = job.metadata.name;
    const out: Array<Promise<unknown>> = [];
    // Ranks that never appeared in our cache may still exist (created just before a crash).
    for (let r = 0; r < job.spec.replicas; r++) {
      if (!pods.some((p) => p.metadata?.name === podName(name, r))) out.push(this.deps.kube.pods.delete(ns, podName(name, r)));
    }
    out.push(this.deps.kube.configMaps.delete(ns, configMapName(name)));
    out.push(this.deps.kube.services.delete(ns, serviceName(name)));
    if (needsPodGroup(job)) out.push(this.gangBackend.backend().then((b) => (b === 'native' ? this.deletePodGroup(job) : undefined)));
    if (job.spec.peers.length) {
      out.push(this.deps.kube.services.delete(ns, peerServiceName(name)));
      out.push(
        this.deps.kube.endpointSlices
          .list(ns, this.peerSliceSelector(name))
          .then((l) => Promise.all(l.items.map((slice) => this.deps.kube.endpointSlices.delete(ns, slice.metadata!.name!)))),
      );
    }
    if (job.spec.sshEnabled) {
      // SSH access (adapter/sessions/ssh.ts): the exposed port goes with the ranks (its policy only
      // admits; the job's own policy still confines the pod); the key Secret goes with the UCloudJob.
      out.push(this.deps.kube.services.delete(ns, sshObjectName(name)));
      out.push(this.deps.kube.networkPolicies.delete(ns, sshObjectName(name)));
    }
    return out;
  }

  /** Resolves once every queued Event is written or given up (tests). */
  eventsIdle(): Promise<void> {
    return this.events.idle();
  }

  /** Shutdown: drops the Events still waiting, resolves once those being written are. */
  closeEvents(): Promise<void> {
    return this.events.close();
  }

  /** A child object was deleted or edited by someone else: verify every child on the next reconcile. */
  childChanged(namespace: string, name: string): void {
    const job = this.deps.getJob(namespace, name);
    const uid = job?.metadata?.uid ?? name;
    this.ensured.delete(uid);
    this.childChanges.set(uid, (this.childChanges.get(uid) ?? 0) + 1);
  }

  forget(namespace: string, name: string, uid?: string): void {
    this.firstMissingAt.delete(objectKey(namespace, name));
    this.leaveWaitQueue(objectKey(namespace, name));
    if (uid) {
      this.endedSeenAt.delete(uid);
      this.podGroupEnsured.delete(uid);
      this.ensured.delete(uid);
      this.childChanges.delete(uid);
      this.tornDown.delete(uid);
      this.childrenDeleted.delete(uid);
    }
  }

  /**
   * The job's place in the wait queue (wait-queue.ts), before planning. Held: jobs.gang.fifo, the
   * job has no pods yet and an earlier job of its category is waiting.
   */
  private gangInput(job: UCloudJob, key: string, backend: GangBackend, pods: readonly V1Pod[], kueue?: KueueState): GangInput | undefined {
    if (backend === 'none' || isFinal(job.status?.state) || job.status?.startedAt) return undefined;
    // Kueue orders and admits (its ClusterQueue's queueing strategy): not admitted, the job waits with Kueue's reason.
    if (kueue) return { backend, held: !kueue.admitted, ahead: 0, queued: !kueue.admitted, ...(kueue.admitted ? {} : { waitingText: kueue.text }) };
    const entry = waitEntry(job, key);
    const ahead = this.waitQueue.ahead(entry);
    const admitted = livePodsByRank(job.spec.replicas, pods).size > 0;
    const fifo = this.deps.config.jobs.gang.fifo && !admitted;
    // A gang also waits for earlier jobs of its category that are not placed yet, queued or not:
    // at start-up (or a burst) jobs are reconciled in no particular order, and the queue alone
    // would let whichever gang is reconciled first go first.
    const held = fifo && (ahead > 0 || (backend === 'native' && needsPodGroup(job) && this.earlierUnplaced(job, entry)));
    const neverFits = this.deps.neverFits?.(job);
    return { backend, held, ahead, queued: this.waitQueue.has(key), ...(neverFits ? { neverFits } : {}) };
  }

  /** An earlier job of the same category (creation time, then name) that has neither started nor been placed. */
  private earlierUnplaced(job: UCloudJob, entry: { key: string; createdAt: number }): boolean {
    const ns = job.metadata.namespace!;
    for (const raw of this.deps.listJobs()) {
      const other = raw?.metadata?.name;
      if (!other || other === job.metadata.name || raw.spec?.product?.category !== job.spec.product.category) continue;
      if (isFinal(raw.status?.state) || raw.status?.startedAt || raw.metadata.deletionTimestamp) continue;
      // A job that cannot be acted on will never be placed: it must not hold the queue.
      if (getCondition(raw.status?.conditions, ConditionType.InvalidSpec)?.status === 'True') continue;
      const key = objectKey(ns, other);
      if (!before(waitEntry(raw, key), entry)) continue;
      if (this.waitQueue.has(key)) return true;
      const live = [...livePodsByRank(raw.spec.replicas, this.deps.podsOf(ns, other)).values()];
      // Nor may one whose ranks no node can hold now (it waits outside the queue).
      if ((live.length < raw.spec.replicas || live.some((p) => !p.spec?.nodeName)) && !this.deps.neverFits?.(raw)) return true;
    }
    return false;
  }

  /**
   * After planning: a job joins the queue when it must wait (held, or the scheduler found no room)
   * and, with fifo, a multi-rank job as soon as its pods are created — an unplaced gang may need
   * exactly the room that frees next, so the gang after it waits until it is placed. One-rank jobs
   * join only once refused, so they flow at full speed while there is room. A job leaves once
   * placed, started or ended, and the next in its category is reconciled at once.
   */
  private updateWaitQueue(job: UCloudJob, key: string, plan: Plan, backend: GangBackend): void {
    const p = plan.placement;
    // A job that starts or ends may be what a held gang waits for (earlierUnplaced): its turn may have come.
    if (plan.transitions.length && !this.waitQueue.has(key)) this.wakeFirst(job.spec.product.category);
    // A job no node can hold now waits outside the queue: at its head it would hold every later job.
    if (backend === 'none' || backend === 'kueue' || !p || p.placed || this.deps.neverFits?.(job)) {
      this.leaveWaitQueue(key);
      return;
    }
    const gangAdmitted = this.deps.config.jobs.gang.fifo && backend === 'native' && needsPodGroup(job) && plan.createRanks.length > 0;
    if (p.waiting || p.blocked || gangAdmitted) {
      this.waitQueue.add(waitEntry(job, key));
    }
  }

  private leaveWaitQueue(key: string): void {
    const category = this.waitQueue.remove(key);
    if (category !== undefined) this.wakeFirst(category);
  }

  private wakeFirst(category: string): void {
    const next = this.waitQueue.first(category);
    if (next && this.deps.requeue) {
      const { namespace, name } = splitKey(next);
      this.deps.requeue(namespace, name);
    }
  }

  /**
   * What the gang backend adds to the pods about to be created: the native backend's PodGroup
   * (ensured first), Kueue's admitted placement. A waiting gang's PodGroup is checked again once
   * per resync: deleted by someone, its pods would wait for it forever (the gang plugin keeps them
   * out of the scheduling queue).
   */
  private async gangPodOptions(current: UCloudJob, job: UCloudJob, plan: Plan, backend: GangBackend, now: Date, kueue?: KueueState): Promise<PodOptions> {
    const creating = plan.createRanks.length > 0;
    if (backend === 'kueue') return creating && kueue ? { admitted: await this.kueue.placement(kueue.workload) } : {};
    const waitingGang = plan.placement && !plan.placement.placed && !creating;
    if (backend !== 'native' || !needsPodGroup(job) || !(creating || waitingGang)) return {};
    const recheckAfterMs = creating ? 0 : this.deps.config.reconciler.resyncSeconds * 1000;
    return { podGroup: await this.ensurePodGroup(current, job, recheckAfterMs, now.getTime()) };
  }

  /** Where the job stands with Kueue (its Workload created if missing); a refused create is said as for any child. */
  private async kueueState(raw: UCloudJob, job: UCloudJob, pods: readonly V1Pod[]): Promise<KueueState> {
    try {
      return await this.kueue.state(job, livePodsByRank(job.spec.replicas, pods).size > 0);
    } catch (e) {
      throw await this.createRefused(raw, Reason.FailedCreateChild, `Workload ${job.metadata.name}`, e);
    }
  }

  /** The job's PodGroup, before its pods (their schedulingGroup names it). Returns its name. */
  private async ensurePodGroup(current: UCloudJob, job: UCloudJob, recheckAfterMs: number, now: number): Promise<string> {
    const uid = job.metadata.uid ?? job.metadata.name;
    const name = podGroupName(job);
    const checked = this.podGroupEnsured.get(uid);
    if (checked !== undefined && (!recheckAfterMs || now - checked < recheckAfterMs)) return name;
    try {
      await this.deps.kube.podGroups.create(job.metadata.namespace!, podGroupFor(job, this.deps.config));
    } catch (e) {
      // The API is gone (a downgraded or reconfigured apiserver): detect again on the next pass.
      if (isNotFound(e)) this.gangBackend.forget();
      throw await this.createRefused(current, Reason.FailedCreateChild, `PodGroup ${name}`, e);
    }
    this.podGroupEnsured.set(uid, now);
    return name;
  }

  private async deletePodGroup(job: UCloudJob): Promise<void> {
    this.podGroupEnsured.delete(job.metadata.uid ?? job.metadata.name);
    try {
      await this.deps.kube.podGroups.delete(job.metadata.namespace!, podGroupName(job));
    } catch (e) {
      // Never created (backend none) or the API is not served: nothing to delete. The UCloudJob
      // owns it anyway, so the garbage collector removes it with the job.
      if (!isNotFound(toKubeError(e))) throw e;
    }
  }

  private async reportInvalid(raw: UCloudJob, why: string, reason: string = Reason.SchemaViolation): Promise<void> {
    this.deps.metrics?.invalidJobs.inc();
    const ns = raw.metadata?.namespace ?? this.deps.config.namespace;
    const name = raw.metadata?.name ?? '';
    const existing = getCondition(raw.status?.conditions, ConditionType.InvalidSpec);
    const message = why.slice(0, 4000);
    if (existing?.status === 'True' && existing.message === message) return;
    this.deps.logger.warn('UCloudJob cannot be acted on', { job: `${ns}/${name}`, why: message });
    const conditions = setCondition(
      Array.isArray(raw.status?.conditions) ? raw.status!.conditions : [],
      { type: ConditionType.InvalidSpec, status: 'True', reason, message, observedGeneration: raw.metadata?.generation },
      new Date(),
    );
    try {
      await this.deps.kube.ucloudJobs.mergePatchStatus(ns, name, { conditions });
    } catch (e) {
      this.deps.logger.warn('Could not record InvalidSpec condition', { job: `${ns}/${name}`, err: e });
    }
    await this.events.record({ namespace: ns, name, uid: raw.metadata?.uid }, 'Warning', 'InvalidSpec', 'Reconcile', message);
  }

  private async event(job: UCloudJob, type: EventType, reason: string, note: string): Promise<void> {
    await this.events.record(jobRef(job), type, reason, 'Reconcile', note);
  }
}

/**
 * Waits for every call, then throws the first failure: a failed teardown is retried only once none
 * of its deletes is still in flight, so two passes over one job never overlap.
 */
async function allSettledOrThrow(calls: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(calls)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function stateReason(state: string): string {
  switch (state) {
    case 'RUNNING':
      return 'Running';
    case 'SUCCESS':
      return 'Succeeded';
    case 'FAILURE':
      return 'Failed';
    case 'EXPIRED':
      return 'Expired';
    default:
      return 'Queued';
  }
}

/** A job's entry in the wait queue: its key, product category and creation time (ms; 0 if unknown). */
function waitEntry(job: UCloudJob, key: string): WaitEntry {
  return { key, category: job.spec.product.category, createdAt: Date.parse(String(job.metadata.creationTimestamp ?? '')) || 0 };
}
