// Wires informers to the work queue and runs reconcile workers (sample-controller's shape):
// event handlers only enqueue keys, workers reconcile by key from the cache, failures are
// retried with per-key backoff, and a periodic resync re-queues every job so time-based rules
// (expiry, grace periods) fire even when nothing changes.
import { KUEUE_GROUP, KUEUE_VERSION, WORKLOAD_PLURAL, type Workload } from '../api/kueue/workload.js';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { GROUP, LABEL_JOB, LABEL_MANAGED_BY, MANAGED_BY, PLURAL, VERSION, isFinal, unacknowledged, type UCloudJob } from '../api/v1alpha1/ucloudjob.js';
import { configMapName, jobResourceName, networkPolicyName, serviceName } from '../api/v1alpha1/names.js';
import type { OperatorConfig } from '../config.js';
import { Informer, type ChangeKind, type InformerOptions } from '../k8s/informer.js';
import type { KubePort } from '../k8s/kube-port.js';
import { WorkQueue } from '../k8s/workqueue.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { JobsControlPort } from '../ucloud/control-client.js';
import { livePodsByRank, ranksEndedAt } from './job-planner.js';
import { Reconciler } from './reconciler.js';
import { Reporter } from './reporter.js';
import { trimPod } from './pod-trim.js';
import { userContainerState } from './pod-facts.js';
import { trimToIdentity, type ChildIdentity } from './child-trim.js';
import { trimJob } from './job-trim.js';
import { PeerIndex } from './peer-index.js';
import { keyOf, objectKey, splitKey } from '../k8s/object-key.js';
import { WritePriority } from '../k8s/write-priority.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export const CONTROLLER_NAME = 'ucloudjob';

/** The kinds of a job's supporting objects, by their API resource names. */
type ChildResource = 'configmaps' | 'services' | 'networkpolicies';

export interface ControllerDeps {
  kc: KubeConfig;
  kube: KubePort;
  control: JobsControlPort;
  config: OperatorConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Why a job can no longer be placed on the cluster's nodes (never-fits.ts), for its waiting text. */
  neverFits?: (job: UCloudJob) => string | undefined;
  now?: () => Date;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly jobs: Informer<UCloudJob>;
  readonly pods: Informer<V1Pod>;
  /** The jobs' ConfigMaps, Services and NetworkPolicies, by identity only: to repair what others delete. */
  readonly children: Record<ChildResource, Informer<ChildIdentity>>;
  /** With the kueue gang backend only: the jobs' Workloads, whose admission wakes the job. */
  readonly workloads?: Informer<Workload>;
  readonly reporter: Reporter;
  readonly reconciler: Reconciler;
  /** The workers' state writes before the background writers' (write-priority.ts); accounting shares it. */
  readonly priority = new WritePriority();
  private workers: Promise<void>[] = [];
  private resyncTimer?: NodeJS.Timeout;
  private running = false;
  private readonly peers = new PeerIndex();
  /** Per job key: the fields whose change needs a reconcile (see reconcileRelevant). */
  private readonly relevant = new Map<string, string>();

  constructor(private readonly deps: ControllerDeps) {
    const { kc, kube, config, logger, metrics } = deps;
    const ns = config.namespace;
    this.queue = new WorkQueue(CONTROLLER_NAME, { baseDelayMs: 5, maxDelayMs: 60_000 }, metrics);
    const relistIntervalMs = config.reconciler.resyncSeconds * 1000 * 2;
    this.jobs = new Informer<UCloudJob>({
      kc,
      path: `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`,
      list: (page) => kube.ucloudJobs.list(ns, page),
      resource: PLURAL,
      transform: trimJob,
      logger,
      metrics,
      relistIntervalMs,
    });
    const selector = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    this.pods = new Informer<V1Pod>({
      kc,
      path: `/api/v1/namespaces/${ns}/pods`,
      list: (page) => kube.pods.list(ns, selector, page),
      labelSelector: selector,
      resource: 'pods',
      logger,
      metrics,
      relistIntervalMs,
      transform: trimPod,
      indexBy: (p) => p.metadata?.labels?.[LABEL_JOB],
    });
    // Level-triggered repair: someone deleting a job's rank files, Service or NetworkPolicy (a job
    // without its policy has lost its isolation) requeues the job, which recreates them. Only
    // identities are cached, so this costs little memory even with 10,000 jobs.
    const child = (resource: ChildResource, path: string, list: InformerOptions<ChildIdentity>['list']) =>
      new Informer<ChildIdentity>({
        kc,
        path,
        list,
        labelSelector: selector,
        resource,
        logger,
        metrics,
        relistIntervalMs,
        transform: (raw) => trimToIdentity(raw, resource === 'networkpolicies'),
      });
    this.children = {
      configmaps: child('configmaps', `/api/v1/namespaces/${ns}/configmaps`, (page) => kube.configMaps.list(ns, selector, page)),
      services: child('services', `/api/v1/namespaces/${ns}/services`, (page) => kube.services.list(ns, selector, page)),
      networkpolicies: child('networkpolicies', `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, (page) =>
        kube.networkPolicies.list(ns, selector, page),
      ),
    };
    if (config.jobs.gang.backend === 'kueue') {
      this.workloads = new Informer<Workload>({
        kc,
        path: `/apis/${KUEUE_GROUP}/${KUEUE_VERSION}/namespaces/${ns}/${WORKLOAD_PLURAL}`,
        list: (page) => kube.workloads.list(ns, selector, page),
        labelSelector: selector,
        resource: WORKLOAD_PLURAL,
        logger,
        metrics,
        relistIntervalMs,
      });
    }
    this.reporter = new Reporter({
      kube,
      control: deps.control,
      getJob: (n, name) => this.jobs.get(n, name),
      listJobs: () => this.jobs.list(),
      logger: logger.child({ component: 'reporter' }),
      metrics,
      batchWindowMs: config.reporting.batchWindowMs,
      maxBatchDelayMs: config.reporting.maxBatchDelayMs,
      maxItemsPerCall: config.reporting.maxItemsPerCall,
      priority: this.priority,
    });
    this.reconciler = new Reconciler({
      kube,
      config,
      logger: logger.child({ component: 'reconciler' }),
      metrics,
      control: deps.control,
      getJob: (n, name) => this.jobs.get(n, name),
      listJobs: () => this.jobs.list(),
      podsOf: (_n, name) => this.pods.byIndex(name),
      childrenOf: (n, name) => ({
        configMap: this.children.configmaps.get(n, configMapName(name)),
        service: this.children.services.get(n, serviceName(name)),
        networkPolicy: this.children.networkpolicies.get(n, networkPolicyName(name)),
      }),
      namingJobs: (n, name) => this.jobsNaming(n, name).map((key) => splitKey(key).name),
      requeue: (n, name) => this.queue.add(`${n}/${name}`),
      ...(this.workloads ? { workloadOf: (n: string, name: string) => this.workloads!.get(n, name) } : {}),
      neverFits: deps.neverFits,
      priority: this.priority,
      now: deps.now,
    });
    // The reporter is a controller of its own, fed by the same informer through its own predicate.
    this.jobs.onChange((job, kind) => this.reporter.observe(job, kind));
    this.jobs.onChange((job, kind) => {
      const key = keyOf(job);
      if (kind === 'delete') {
        this.reconciler.forget(job.metadata!.namespace!, job.metadata!.name, job.metadata?.uid);
        this.relevant.delete(key);
      } else {
        // The reporter's acknowledgements and the accounting watermark are status patches too;
        // requeueing on each of them multiplied reconciles (and report latency) at scale.
        const fp = reconcileRelevant(job);
        const unchanged = kind === 'update' && this.relevant.get(key) === fp;
        this.relevant.set(key, fp);
        if (unchanged) return;
      }
      this.queue.add(key, { first: kind !== 'delete' && endsNow(job, this.pods.byIndex(job.metadata.name)) });
      // Peering is symmetric: a job naming another as a peer changes the other's NetworkPolicy,
      // and a job that names this one must learn when it ends (its policy and aliases drop it).
      const named = kind === 'delete' ? [] : (job.spec?.peers ?? []).map((p) => jobResourceName(p.jobId));
      for (const name of new Set([...this.peers.namedByJob(key), ...named])) this.queue.add(objectKey(job.metadata?.namespace, name));
      for (const key2 of this.jobsNaming(job.metadata!.namespace!, job.metadata!.name)) this.queue.add(key2);
      this.peers.set(key, named);
    });
    for (const [resource, inf] of Object.entries(this.children) as Array<[ChildResource, Informer<ChildIdentity>]>) {
      inf.onChange((obj, kind) => this.onChildChange(obj, kind, resource));
    }
    // Kueue admitting (or evicting) a Workload is what a waiting job waits for.
    this.workloads?.onChange((w) => {
      const owner = w.metadata?.labels?.[LABEL_JOB];
      if (owner) this.queue.add(objectKey(w.metadata?.namespace, owner));
    });
    this.pods.onChange((pod) => {
      const owner = pod.metadata?.labels?.[LABEL_JOB];
      if (!owner) return;
      const job = this.jobs.get(pod.metadata!.namespace!, owner);
      this.queue.add(objectKey(pod.metadata?.namespace, owner), { first: !!job && (endsNow(job, [pod]) || startsNow(job, [pod])) });
      // Jobs that name the owner as a peer publish its pods' addresses (peer-aliases.ts).
      for (const key of this.jobsNaming(pod.metadata!.namespace!, owner)) this.queue.add(key);
    });
  }

  private onChildChange(child: ChildIdentity, kind: ChangeKind, resource: ChildResource): void {
    // Our own creates arrive as adds; only a deletion or someone else's edit of a policy needs repair.
    if (kind === 'add' || (kind === 'update' && resource !== 'networkpolicies')) return;
    const owner = child.metadata?.labels?.[LABEL_JOB];
    const ns = child.metadata?.namespace;
    if (!owner || !ns) return;
    this.reconciler.childChanged(ns, owner);
    this.queue.add(objectKey(ns, owner));
  }

  /** When every rank of the job has ended, per the pod cache (job-planner ranksEndedAt). */
  ranksEndedAt(job: UCloudJob, now: Date): number | undefined | null {
    const pods = this.pods.byIndex(job.metadata.name);
    // A started job with a rank missing from the cache is about to be decided (vanished pod, or
    // a teardown the job cache has not caught up with): billing it up to `now` could overcharge.
    if (job.status?.startedAt && livePodsByRank(job.spec.replicas, pods).size !== job.spec.replicas) return null;
    return ranksEndedAt(job, pods, this.deps.config, now);
  }

  /** Keys of the jobs that name `namespace/name` as a peer. */
  jobsNaming(namespace: string, name: string): string[] {
    return this.peers.naming(namespace, name);
  }

  get hasSynced(): boolean {
    return this.jobs.hasSynced && this.pods.hasSynced && Object.values(this.children).every((c) => c.hasSynced) && (this.workloads?.hasSynced ?? true);
  }

  async start(): Promise<void> {
    this.running = true;
    // Every cache lists at once (at 10,000 jobs the lists are most of a restart's time); no worker
    // runs before all are synced, so no job is reconciled without its pods in the cache.
    await Promise.all([this.pods.start(), ...Object.values(this.children).map((c) => c.start()), this.workloads?.start(), this.jobs.start()]);
    // A job listed before its pods were cached was queued without knowing that a rank ended while
    // the operator was down: those go to the front now (their final state is what Core waits for).
    for (const job of this.jobs.list()) if (endsNow(job, this.pods.byIndex(job.metadata.name))) this.queue.add(keyOf(job), { first: true });
    this.reporter.start();
    this.deps.metrics.maxConcurrentReconciles.set({ controller: CONTROLLER_NAME }, this.deps.config.reconciler.workers);
    this.deps.metrics.activeWorkers.set({ controller: CONTROLLER_NAME }, 0);
    for (let i = 0; i < this.deps.config.reconciler.workers; i++) this.workers.push(this.work());
    this.scheduleResync();
    this.deps.logger.info('Controller started', { jobs: this.jobs.size, pods: this.pods.size });
  }

  private scheduleResync(): void {
    const every = this.deps.config.reconciler.resyncSeconds * 1000;
    if (!every || !this.running) return;
    this.resyncTimer = setTimeout(() => {
      for (const j of this.jobs.list()) this.queue.add(keyOf(j));
      this.scheduleResync();
    }, every);
    this.resyncTimer.unref();
  }

  private async work(): Promise<void> {
    const { metrics, logger } = this.deps;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      metrics.activeWorkers.inc({ controller: CONTROLLER_NAME });
      const { namespace, name } = splitKey(key);
      try {
        const res = await this.reconciler.reconcile(namespace, name);
        this.queue.forget(key);
        if (res.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, Math.max(res.requeueAfterMs, 10));
          metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: 'requeue_after' });
        } else metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: 'success' });
      } catch (e) {
        metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: 'error' });
        metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME });
        logger.warn('Reconcile failed', { job: key, err: e, retries: this.queue.numRequeues(key) });
        this.queue.addRateLimited(key);
      } finally {
        const secs = (performance.now() - started) / 1000;
        metrics.reconcileTime.observe({ controller: CONTROLLER_NAME }, secs);
        metrics.workqueueWorkDuration.observe({ name: CONTROLLER_NAME }, secs);
        metrics.activeWorkers.dec({ controller: CONTROLLER_NAME });
        this.queue.done(key);
      }
      // A reconcile that needs no apiserver call (a running job whose children the caches show)
      // never leaves the microtask queue, and neither does queue.get() while keys wait: after a
      // restart the workers would run 9,000 of them back to back and hold every socket's data,
      // watch event and timer (the reporter's calls to Core among them) until the queue drained.
      await yieldToEventLoop();
    }
  }

  /** Stops taking keys, lets in-flight reconciles finish, flushes pending reports. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
    await this.reconciler.closeEvents();
    await this.reporter.stop();
    await Promise.all([this.jobs.stop(), this.pods.stop(), ...Object.values(this.children).map((c) => c.stop()), this.workloads?.stop()]);
  }
}

/**
 * A job that is not final while a rank of it has ended: its next reconcile decides (and reports) an
 * end, so it goes ahead of routine work in the queue, e.g. of the thousands of running jobs a
 * restarted operator looks at once. Once its final state is stored it is routine again (a job
 * that runs on after one rank ended, under rankEndRule `all`, goes first on its few pod events).
 */
export function endsNow(job: UCloudJob, pods: readonly V1Pod[]): boolean {
  if (isFinal(job.status?.state)) return false;
  return pods.some((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || !!userContainerState(p)?.terminated);
}

/**
 * A job that has not started while a rank of it runs: its next reconcile may decide RUNNING, which
 * Core waits for as it waits for ends. During a burst of creates (1,000 jobs submitted at once) the
 * queue holds the creates of every job; without this a pod's Running waited behind all of them
 * (bench figure c4: p99 80 s from the pod's Running to RUNNING at Core at 1,000 jobs).
 */
export function startsNow(job: UCloudJob, pods: readonly V1Pod[]): boolean {
  if (isFinal(job.status?.state) || job.status?.startedAt) return false;
  return pods.some((p) => !!userContainerState(p)?.running);
}

/**
 * What of a UCloudJob the reconciler acts on: its spec (generation), deletion, metadata, the
 * state it decided, the no-credits flag, and for a final job whether UCloud/Core has every update
 * and the charge watermark (retention waits for both). Not the acknowledgements of a running job
 * (the reporter writes the Reported condition itself, ADR 0028) or its watermark: those change
 * all the time and change no decision.
 */
export function reconcileRelevant(job: UCloudJob): string {
  const s = job.status;
  const pending = unacknowledged(s).length;
  const final = isFinal(s?.state);
  return JSON.stringify([
    job.metadata?.uid,
    job.metadata?.generation,
    job.metadata?.deletionTimestamp,
    job.metadata?.labels,
    job.metadata?.annotations,
    s?.state,
    s?.insufficientFunds,
    s?.unknownToCore !== undefined,
    final && pending > 0,
    final ? (s?.accounting?.chargedPeriods ?? 0) : 0,
    // A status the reconciler did not write (edited, or a schema violation) must be re-checked.
    s?.observedGeneration,
  ]);
}
