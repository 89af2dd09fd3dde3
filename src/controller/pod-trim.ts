// Pods are the largest objects the operator caches (10,000 jobs can mean tens of thousands of
// pods). Keep only what the planner and state mapping read; the full object is never needed.
import type { V1Pod } from '@kubernetes/client-node';

export function trimPod(raw: unknown): V1Pod {
  const p = raw as V1Pod;
  const m = p.metadata ?? {};
  const s = p.status ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: p.spec ? { containers: [], nodeName: p.spec.nodeName } : undefined,
    status: {
      phase: s.phase,
      reason: s.reason,
      message: s.message,
      startTime: s.startTime,
      // Peers' aliases point at these (peer-aliases.ts).
      podIP: s.podIP,
      podIPs: s.podIPs,
      // PodScheduled's time: when a rank got its node (the gang timeout and the image-pull grace count from it).
      conditions: s.conditions?.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        ...(c.type === 'PodScheduled' && c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : {}),
      })),
      containerStatuses: s.containerStatuses?.map((c) => ({
        name: c.name,
        ready: c.ready,
        restartCount: c.restartCount,
        image: c.image,
        imageID: '',
        state: c.state,
        lastState: undefined,
      })),
      initContainerStatuses: s.initContainerStatuses?.map((c) => ({
        name: c.name,
        ready: c.ready,
        restartCount: c.restartCount,
        image: c.image,
        imageID: '',
        state: c.state,
      })),
    },
  };
}
