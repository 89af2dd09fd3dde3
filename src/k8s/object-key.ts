// The work queues, caches and per-job maps all name an object `namespace/name` (client-go's
// MetaNamespaceKeyFunc): one spelling, so a key built in one place is found in another.

/** `namespace/name`. */
export function objectKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

/** The key of a stored object (its metadata's namespace and name). */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return objectKey(obj.metadata?.namespace, obj.metadata?.name);
}

/** The namespace and name of a key; names hold no '/', namespaces neither. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
