// WEB and VNC sessions: the application's web (or VNC websockify) port of one rank, published
// through an Ingress at a host built from a configurable pattern. Per job and rank: a Service
// `<job>-web-<rank>` (or `-vnc-`) selecting that rank's pod, an Ingress of the same name, and one
// NetworkPolicy `<job>-interactive` admitting the ingress controller's namespace to the job's web and
// VNC ports (the job's own policy admits only its ranks and peers). All owned by the UCloudJob and
// created on the first session of that rank; later sessions reuse them.
//
// Every request to the Ingress is authenticated per session (web-auth.ts): with the ingress-nginx
// controller the Ingress carries auth-url pointing at interactive.web.auth.verifyUrl; with
// `custom` the site's annotations must do the same for its controller (docs/security.md).
import { NetworkingV1Api, type KubeConfig, type V1Ingress, type V1NetworkPolicy, type V1Service } from '@kubernetes/client-node';
import { interactiveHost } from '../../api/v1alpha1/names.js';
import { API_VERSION, KIND, LABEL_JOB, LABEL_MANAGED_BY, LABEL_RANK, MANAGED_BY, type UCloudJob } from '../../api/v1alpha1/ucloudjob.js';
import type { OperatorConfig } from '../../config.js';
import { isAlreadyExists, toKubeError } from '../../k8s/errors.js';
import type { KubePort } from '../../k8s/kube-port.js';

export type WebKind = 'web' | 'vnc';

export interface IngressApi {
  /** False when the name is taken. */
  create(namespace: string, ingress: V1Ingress): Promise<boolean>;
}

export function createIngressApi(kc: KubeConfig, fieldManager = 'ucloud-operator'): IngressApi {
  const net = kc.makeApiClient(NetworkingV1Api);
  return {
    async create(namespace, body) {
      try {
        await net.createNamespacedIngress({ namespace, body, fieldManager });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw toKubeError(e);
      }
    },
  };
}

/**
 * ingress-nginx: every request is first sent to auth-url (a 2xx admits it); auth-always-set-cookie
 * passes the Set-Cookie of that answer to the browser (the session-secret-for-cookie exchange).
 */
export function authAnnotations(config: OperatorConfig): Record<string, string> {
  const auth = config.interactive.web.auth;
  if (auth.controller !== 'ingress-nginx' || !auth.verifyUrl) return {};
  return {
    'nginx.ingress.kubernetes.io/auth-url': auth.verifyUrl,
    'nginx.ingress.kubernetes.io/auth-always-set-cookie': 'true',
  };
}

export const webObjectName = (job: string, kind: WebKind, rank: number) => `${job}-${kind}-${rank}`;
export const interactivePolicyName = (job: string) => `${job}-interactive`;

export class WebPublisher {
  constructor(
    private readonly config: OperatorConfig,
    private readonly kube: KubePort,
    private readonly ingresses: IngressApi,
  ) {}

  /** Publishes `kind` of `rank` (idempotent) and returns its URL. */
  async publish(job: UCloudJob, kind: WebKind, rank: number, port: number): Promise<string> {
    const web = this.config.interactive.web;
    const ns = job.metadata.namespace ?? this.config.namespace;
    const jobName = job.metadata.name;
    const name = webObjectName(jobName, kind, rank);
    const host = interactiveHost(kind === 'web' ? web.domainPattern : web.vncDomainPattern, job, rank);
    const owner = [{ apiVersion: API_VERSION, kind: KIND, name: jobName, uid: job.metadata.uid! }];
    const labels = { [LABEL_JOB]: jobName, [LABEL_MANAGED_BY]: MANAGED_BY };

    const policy: V1NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: interactivePolicyName(jobName), namespace: ns, labels, ownerReferences: owner },
      spec: {
        podSelector: { matchLabels: { [LABEL_JOB]: jobName } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            // `_from` is client-node's name for `from`; its serializer writes `from`.
            _from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': web.ingressNamespace } } }],
            ports: [...new Set([job.spec.webPort, job.spec.vncPort].filter((p): p is number => !!p))].map((p) => ({ protocol: 'TCP', port: p })),
          },
        ],
      },
    };
    await this.kube.networkPolicies.create(ns, policy);
    const service: V1Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels, ownerReferences: owner },
      spec: {
        type: 'ClusterIP',
        selector: { [LABEL_JOB]: jobName, [LABEL_RANK]: String(rank) },
        ports: [{ name: kind, protocol: 'TCP', port: 80, targetPort: port }],
      },
    };
    await this.kube.services.create(ns, service);
    const annotations = { ...authAnnotations(this.config), ...web.annotations };
    const ingress: V1Ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: ns, labels, ownerReferences: owner, ...(Object.keys(annotations).length ? { annotations } : {}) },
      spec: {
        ...(web.ingressClassName ? { ingressClassName: web.ingressClassName } : {}),
        ...(web.tlsSecretName ? { tls: [{ hosts: [host], secretName: web.tlsSecretName }] } : {}),
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }],
      },
    };
    await this.ingresses.create(ns, ingress);
    const secure = web.scheme === 'https';
    return kind === 'web' ? `${secure ? 'https' : 'http'}://${host}/` : `${secure ? 'wss' : 'ws'}://${host}/websockify`;
  }
}
