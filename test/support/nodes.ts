// A node as the apiserver lists it, for the capacity rules (queue status, never-fits): labelled
// with a product category (ucloud.dk/machine), 64 cores and 256 GiB unless told otherwise.
import type { V1Node } from '@kubernetes/client-node';
import { unitConfig } from './config.js';

/** Category c: a whole-node product (64 cores, 256 GB), a half-node one and a small one; g: one GPU product. */
export const capacityConfig = unitConfig({
  products: [
    { id: 'c-64', category: 'c', cpu: 64, memoryInGigs: 256 },
    { id: 'c-32', category: 'c', cpu: 32, memoryInGigs: 128 },
    { id: 'c-1', category: 'c', cpu: 1, memoryInGigs: 4 },
    { id: 'g-1', category: 'g', cpu: 8, memoryInGigs: 32, gpu: 1 },
  ],
});

export function testNode(
  name: string,
  opts: {
    category?: string;
    cpu?: string;
    memory?: string;
    allocatableCpu?: string;
    gpus?: Record<string, string>;
    ready?: boolean;
    pressure?: string;
    cordoned?: boolean;
    taint?: string;
  } = {},
): V1Node {
  const capacity = { cpu: opts.cpu ?? '64', memory: opts.memory ?? '256Gi', pods: '110', ...opts.gpus };
  return {
    metadata: { name, labels: { 'ucloud.dk/machine': opts.category ?? 'c' } },
    spec: { unschedulable: opts.cordoned, taints: opts.taint ? [{ key: opts.taint, effect: 'NoSchedule' }] : undefined },
    status: {
      capacity,
      allocatable: { ...capacity, ...(opts.allocatableCpu ? { cpu: opts.allocatableCpu } : {}) },
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }, ...(opts.pressure ? [{ type: opts.pressure, status: 'True' }] : [])],
    },
  };
}

/**
 * A kwok node of a product category of its own (ucloud.dk/machine), tainted with `taint` so that
 * no other test's pods land on it (the category tolerates it). Sized as a kubelet that keeps
 * 500 m and 512 MiB of 8 cores and 32 GiB for itself reports it, unless told otherwise.
 */
export function kwokNode(
  name: string,
  category: string,
  taint: string,
  size: { capacity: Record<string, string>; allocatable: Record<string, string> } = {
    capacity: { cpu: '8', memory: '32Gi' },
    allocatable: { cpu: '7500m', memory: '32256Mi' },
  },
): V1Node {
  const fixed = { pods: '110', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, type: 'kwok', 'ucloud.dk/machine': category },
    },
    spec: { providerID: `kwok://${name}`, taints: [{ key: taint, value: category, effect: 'NoSchedule' }] },
    status: { capacity: { ...size.capacity, ...fixed }, allocatable: { ...size.allocatable, ...fixed } },
  };
}
