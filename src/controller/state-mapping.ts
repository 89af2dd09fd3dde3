// Pods → UCloud JobState, as a pure function (docs/adr/0004-state-mapping.md has the table).
//
// Each rank contributes a state: a Pending or Missing pod IN_QUEUE, a Running pod RUNNING, a
// pod that ended SUCCESS or, when the failure rule counts its ending as a failure, FAILURE. The
// job takes the worst (UCloud IM2's order FAILURE > EXPIRED > SUCCESS > IN_QUEUE > RUNNING), with
// one exception: while any rank has not ended, ranks that did end count as RUNNING, so a job with
// one rank done and one still working is RUNNING, not SUCCESS. Hence: IN_QUEUE until every rank
// has started, RUNNING while they run, SUCCESS when all ended well, FAILURE as soon as one fails.
// That exception is the rank-end rule `all`; under `first` (IM2's rule, the default: docs/adr/0021)
// an ended rank counts as ended at once, so the first rank to end ends the job (SUCCESS if it
// exited well, FAILURE if it failed) and the planner stops the others.
//
// Under the "exit-code" rule (UCloud since 2026) a non-zero exit or an OOM kill is a failure;
// under "scheduler-only" (the legacy rule, UCloud #2118) only provider faults are (eviction, a
// lost node, a node that refused or stopped the pod), and a program's non-zero exit ends the job
// as SUCCESS with the exit in the message. Missing pods are reported, never judged: creating them,
// and failing a job whose pod vanished after a grace period, is the planner's business.
import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import type { UCloudJobState } from '../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../config.js';
import { detail, INIT_SCRIPT_FAILED, podRank, userContainerState, waitingReason } from './pod-facts.js';

export type FailureRule = OperatorConfig['jobs']['failureRule'];
export type RankEndRule = OperatorConfig['jobs']['rankEndRule'];
export type MappedState = Extract<UCloudJobState, 'IN_QUEUE' | 'RUNNING' | 'SUCCESS' | 'FAILURE'>;
export type RankPhase = 'Missing' | 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface RankStatus {
  rank: number;
  phase: RankPhase;
  /** Why the rank waits or how it ended, in words that follow "rank <r> ". */
  reason?: string;
  exitCode?: number;
  /** The rank ended because of the provider (eviction, lost node, …), not the user's program. */
  providerFault?: boolean;
}

export interface MappedPods {
  state: MappedState;
  message: string;
  runningRanks: number;
  allRunning: boolean;
  /** The ranks have ended the job: every rank's pod ended (Succeeded or Failed), or under the
   *  rank-end rule `first` any rank's did. */
  finished: boolean;
  perRank: RankStatus[];
}

export interface MapPodsInput {
  replicas: number;
  /** This job's pods, in any order; ranks may be missing, pods may be terminating. */
  pods: readonly V1Pod[];
  failureRule: FailureRule;
  /** Default `all` (every rank must end); the operator passes jobs.rankEndRule. */
  rankEndRule?: RankEndRule;
  now: Date;
  /** Since when each missing rank has been seen missing (only used in messages). */
  firstSeenMissing?: Readonly<Record<number, Date>>;
}

/** UCloud IM2's ranking (monitoring.go jobStateRankings), SUSPENDED left out: never used here. */
const RANKING: Record<UCloudJobState, number> = { FAILURE: 5, EXPIRED: 4, SUCCESS: 3, IN_QUEUE: 2, RUNNING: 1 };

/** The worst of several states in UCloud IM2's order; undefined for none. */
export function worstState<S extends UCloudJobState>(states: readonly S[]): S | undefined {
  let worst: S | undefined;
  for (const s of states) if (worst === undefined || RANKING[s] > RANKING[worst]) worst = s;
  return worst;
}

/** Status messages end up in the CR (≤ 4096) and in UCloud; a 1000-rank gang must not overflow them. */
const MAX_MESSAGE = 4000;
const MAX_LISTED = 5;

function userTerminated(pod: V1Pod): V1ContainerStateTerminated | undefined {
  return userContainerState(pod)?.terminated;
}

const fault = (rank: number, reason: string, exitCode?: number): RankStatus => ({
  rank,
  phase: 'Failed',
  reason,
  ...(exitCode !== undefined ? { exitCode } : {}),
  providerFault: true,
});

/** Kubernetes' own record of why it is taking a pod away (KEP-3329), set before the pod stops. */
function disruption(pod: V1Pod): string | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'DisruptionTarget' && x.status === 'True');
  if (!c) return undefined;
  const why = detail(c.message);
  switch (c.reason) {
    case 'PreemptionByScheduler':
      return `was preempted by a higher-priority pod${why}`;
    case 'EvictionByEvictionAPI':
      return `was evicted${why}`;
    case 'DeletionByTaintManager':
    case 'DeletionByPodGC':
      return `was lost with its node${why}`;
    case 'TerminationByKubelet':
      return `was stopped by its node${why}`;
    default:
      return `was stopped by the cluster (${c.reason ?? 'DisruptionTarget'})${why}`;
  }
}

/** The init-script runner's own words (pod-builder.ts withInitScript), for a rank whose program never started. */
function initScriptFailure(term: V1ContainerStateTerminated): string | undefined {
  const said = term.message?.split('\n')[0];
  return said?.startsWith(INIT_SCRIPT_FAILED) ? `did not start its program: its init script ${said.slice(INIT_SCRIPT_FAILED.length, 200)}` : undefined;
}

function failedRank(rank: number, pod: V1Pod): RankStatus {
  const st = pod.status ?? {};
  if (st.reason === 'Evicted') return fault(rank, `was evicted${detail(st.message)}`);
  if (st.reason === 'NodeShutdown' || st.reason === 'Terminated') return fault(rank, `was stopped because its node shut down${detail(st.message)}`);
  const init = st.initContainerStatuses?.find((c) => (c.state?.terminated?.exitCode ?? 0) !== 0);
  if (init) return fault(rank, `failed to initialise (${init.name} exited with code ${init.state!.terminated!.exitCode})`);
  const term = userTerminated(pod);
  // No container ever ran: the node refused the pod at admission (OutOfcpu, NodeAffinity, …).
  if (!term)
    return fault(rank, st.reason ? `was rejected by its node (${st.reason})${detail(st.message)}` : `failed before its program ran${detail(st.message)}`);
  if (term.reason === 'OOMKilled') return { rank, phase: 'Failed', reason: 'was OOM killed', exitCode: term.exitCode ?? 137 };
  const script = initScriptFailure(term);
  if (script) return { rank, phase: 'Failed', reason: script, exitCode: term.exitCode };
  if (term.reason === 'ContainerStatusUnknown') return fault(rank, `was lost: its container could not be found${detail(term.message)}`, term.exitCode);
  // restartPolicy Never makes an exit 0 Succeeded; Failed with 0 means something else stopped it.
  if (term.exitCode === 0) return fault(rank, `failed although its program exited with code 0${detail(st.reason ?? term.reason)}`, 0);
  const code = term.exitCode;
  const signal = term.signal ?? (code > 128 && code < 160 ? code - 128 : undefined);
  return { rank, phase: 'Failed', reason: `exited with code ${code}${signal !== undefined ? ` (signal ${signal})` : ''}`, exitCode: code };
}

function rankStatus(rank: number, pod: V1Pod | undefined, input: MapPodsInput): RankStatus {
  if (!pod) {
    const since = input.firstSeenMissing?.[rank];
    const secs = since ? Math.max(0, Math.floor((input.now.getTime() - since.getTime()) / 1000)) : undefined;
    return { rank, phase: 'Missing', reason: secs !== undefined ? `no pod for ${secs}s` : 'no pod' };
  }
  const st = pod.status ?? {};
  // The node stopped reporting: the pod is as good as gone, whatever its last phase said.
  if (st.reason === 'NodeLost') return fault(rank, `was lost with its node${detail(st.message)}`);
  if (st.phase === 'Unknown') return fault(rank, `was lost with its node (pod phase Unknown)${detail(st.message)}`);
  // A clean exit stands even if the pod is being deleted afterwards.
  if (st.phase === 'Succeeded') return { rank, phase: 'Succeeded', reason: 'exited with code 0', exitCode: userTerminated(pod)?.exitCode ?? 0 };
  const disrupted = disruption(pod);
  if (disrupted) return fault(rank, disrupted, userTerminated(pod)?.exitCode);
  // Deleted by someone else (a drain without the eviction API, kubectl delete): whatever it does
  // now is the deletion's doing, so it is Missing and the planner's vanished-pod rule decides.
  if (pod.metadata?.deletionTimestamp) return { rank, phase: 'Missing', reason: 'pod is being deleted' };
  if (st.phase === 'Running') return { rank, phase: 'Running' };
  if (st.phase === 'Failed') return failedRank(rank, pod);
  return { rank, phase: 'Pending', reason: waitingReason(pod) };
}

/** "rank 3" / "ranks 1-3, 7". */
function rankSet(ranks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranks.length;) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j]! + 1) j++;
    parts.push(i === j ? `${ranks[i]}` : `${ranks[i]}-${ranks[j]}`);
    i = j + 1;
  }
  return `${ranks.length === 1 ? 'rank' : 'ranks'} ${parts.join(', ')}`;
}

/** "rank 1 exited with code 3; rank 4 was OOM killed; and 7 more". */
function listRanks(ranks: readonly RankStatus[]): string {
  const shown = ranks.slice(0, MAX_LISTED).map((r) => `rank ${r.rank} ${r.reason ?? r.phase}`);
  if (ranks.length > MAX_LISTED) shown.push(`and ${ranks.length - MAX_LISTED} more`);
  return shown.join('; ');
}

/** "rank 1: ContainerCreating; ranks 2-7: Unschedulable: …", grouped by reason, first seen first. */
function groupByReason(ranks: readonly RankStatus[]): string {
  const groups = new Map<string, number[]>();
  for (const r of ranks) {
    const why = r.reason ?? r.phase;
    groups.set(why, [...(groups.get(why) ?? []), r.rank]);
  }
  return [...groups].map(([why, rs]) => `${rankSet(rs)}: ${why}`).join('; ');
}

const clip = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s);

/** The pod for each rank; a terminating pod only when it is the rank's only one. */
function podsByRank(pods: readonly V1Pod[], replicas: number): Map<number, V1Pod> {
  const byRank = new Map<number, V1Pod>();
  for (const pod of pods) {
    const r = podRank(pod);
    if (r === undefined || r >= replicas) continue;
    const seen = byRank.get(r);
    if (!seen || (seen.metadata?.deletionTimestamp && !pod.metadata?.deletionTimestamp)) byRank.set(r, pod);
  }
  return byRank;
}

export function mapPods(input: MapPodsInput): MappedPods {
  const { replicas } = input;
  const byRank = podsByRank(input.pods, replicas);
  const perRank = Array.from({ length: replicas }, (_, r) => rankStatus(r, byRank.get(r), input));

  const isFailure = (r: RankStatus) => r.phase === 'Failed' && (input.failureRule === 'exit-code' || r.providerFault === true);
  const ended = (r: RankStatus) => r.phase === 'Succeeded' || r.phase === 'Failed';
  const finished = input.rankEndRule === 'first' ? perRank.some(ended) : perRank.every(ended);
  const runningRanks = perRank.filter((r) => r.phase === 'Running').length;
  const contributions = perRank.map((r): MappedState => {
    if (isFailure(r)) return 'FAILURE';
    if (ended(r)) return finished ? 'SUCCESS' : 'RUNNING';
    return r.phase === 'Running' ? 'RUNNING' : 'IN_QUEUE';
  });
  const state = worstState(contributions) ?? 'IN_QUEUE';

  const base = { state, runningRanks, allRunning: runningRanks === replicas, finished, perRank };
  const unwell = perRank.filter((r) => r.phase === 'Failed');
  switch (state) {
    case 'FAILURE':
      return { ...base, message: clip(`The job failed: ${listRanks(perRank.filter(isFailure))}`) };
    case 'SUCCESS':
      if (!perRank.every(ended)) {
        return { ...base, message: clip(`The job finished when ${listRanks(perRank.filter(ended))}; the other ranks were stopped`) };
      }
      return {
        ...base,
        message: clip(
          unwell.length
            ? `The job finished; ${listRanks(unwell)}`
            : `The job finished: ${replicas === 1 ? 'its rank' : `all ${replicas} ranks`} exited with code 0`,
        ),
      };
    case 'RUNNING': {
      if (runningRanks === replicas) return { ...base, message: 'The job is running' };
      const done = perRank.filter(ended);
      return {
        ...base,
        message: clip(`The job is finishing: ${done.length}/${replicas} ranks have ended (${groupByReason(done)}); the others are still running`),
      };
    }
    default:
      return {
        ...base,
        message: clip(`${runningRanks}/${replicas} ranks running; ${groupByReason(perRank.filter((r) => r.phase !== 'Running'))}`),
      };
  }
}
