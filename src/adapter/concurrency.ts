// Bounded fan-out for the per-item work of a bulk call: a 1000-item bulk must not open 1000
// concurrent requests to the apiserver (client-side throttling and APF would reject most).

/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in item
 * order. After the first failure no new item is started, and the failure is thrown only once
 * every call already in flight has settled, so a caller that compensates sees all the effects.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return out;
}
