/**
 * Runs `work` on every item of a list sorted smallest first, `concurrency` at a time, from both
 * ends: half the slots (at least one) take the smallest item left, the others the largest, until
 * they meet. A model's small files (configs, tokenizer, card) are bound by latency (a request, a
 * few file-system calls, an fsync each) and its weights by bandwidth: side by side, the weights
 * keep the link busy while the small files come in, where fetching every small file first left
 * the link nearly idle for a second or two. With one slot it is smallest first.
 *
 * A throw stops that slot only; the others finish the list, and the first error is thrown then.
 */
export async function fromBothEnds<T>(sorted: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let front = 0;
  let back = sorted.length;
  let failure: { error: unknown } | null = null;
  const smallSlots = Math.max(1, Math.floor(concurrency / 2));
  const slot = async (smallest: boolean) => {
    try {
      while (front < back) await work(smallest ? sorted[front++] : sorted[--back]);
    } catch (error) {
      failure ??= { error };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, (_, i) => slot(i < smallSlots)));
  if (failure) throw (failure as { error: unknown }).error;
}
