// The few Secret calls interactive sessions need, over client-node. Kept beside the sessions
// rather than in KubePort: nothing else in the operator reads or writes Secrets.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, isNotFound, toKubeError } from '../../k8s/errors.js';

export interface SecretApi {
  get(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** False when the name is taken. */
  create(namespace: string, secret: V1Secret): Promise<boolean>;
  /** A missing Secret is not an error; true when this call deleted it (with `uid`: that very
   *  object, so of two racing deleters exactly one gets true). */
  delete(namespace: string, name: string, opts?: { uid?: string }): Promise<boolean>;
  /** One page of the Secrets with `labelSelector` (the sweep of expired sessions); `cont` from the last page. */
  list(namespace: string, labelSelector: string, page: { limit: number; cont?: string }): Promise<{ items: V1Secret[]; cont?: string }>;
}

export function createSecretApi(kc: KubeConfig, fieldManager = 'ucloud-operator'): SecretApi {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async get(namespace, name) {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw toKubeError(e);
      }
    },
    async create(namespace, body) {
      try {
        await core.createNamespacedSecret({ namespace, body, fieldManager });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw toKubeError(e);
      }
    },
    async list(namespace, labelSelector, page) {
      try {
        const res = await core.listNamespacedSecret({ namespace, labelSelector, limit: page.limit, ...(page.cont ? { _continue: page.cont } : {}) });
        return { items: res.items, ...(res.metadata?._continue ? { cont: res.metadata._continue } : {}) };
      } catch (e) {
        throw toKubeError(e);
      }
    },
    async delete(namespace, name, opts = {}) {
      try {
        await core.deleteNamespacedSecret({ namespace, name, ...(opts.uid ? { body: { preconditions: { uid: opts.uid } } } : {}) });
        return true;
      } catch (e) {
        if (isNotFound(e) || isConflict(e)) return false;
        throw toKubeError(e);
      }
    },
  };
}
