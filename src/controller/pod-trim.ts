// Pods are the largest objects the operator caches (10,000 jobs can mean tens of thousands of
// pods). Keep only what the planner and state mapping read; the full object is never needed.
import type { V1Pod } from '@kubernetes/client-node';
import { share, shareStrings } from '../k8s/shared-strings.js';

export function trimPod(raw: unknown): V1Pod {
  const p = raw as V1Pod;
  const m = p.metadata ?? {};
  const s = p.status ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: m.name,
      namespace: share(m.namespace),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: shareStrings(m.labels),
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: p.spec ? { containers: [], nodeName: share(p.spec.nodeName) } : undefined,
    status: {
      phase: share(s.phase),
      reason: share(s.reason),
      message: share(s.message),
      startTime: s.startTime,
      // Peers' aliases point at these (peer-aliases.ts).
      podIP: s.podIP,
      podIPs: s.podIPs,
      // PodScheduled's time: when a rank got its node (the gang timeout and the image-pull grace count from it).
      conditions: s.conditions?.map((c) => ({
        type: share(c.type),
        status: share(c.status),
        reason: share(c.reason),
        message: share(c.message),
        ...(c.type === 'PodScheduled' && c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : {}),
      })),
      containerStatuses: s.containerStatuses?.map((c) => ({
        name: share(c.name),
        ready: c.ready,
        restartCount: c.restartCount,
        image: share(c.image),
        imageID: '',
        state: c.state,
        lastState: undefined,
      })),
      initContainerStatuses: s.initContainerStatuses?.map((c) => ({
        name: share(c.name),
        ready: c.ready,
        restartCount: c.restartCount,
        image: share(c.image),
        imageID: '',
        state: c.state,
      })),
    },
  };
}
