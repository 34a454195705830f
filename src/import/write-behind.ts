/**
 * Notes written behind the work they record: one statement at a time, each carrying every note
 * that arrived while the one before it ran. A file import notes each file it verified (and each
 * it placed) so that a resumed attempt skips it; a statement per file put a database round trip
 * into every small file's transfer (200 of them in the benchmark's model). Nothing is lost but
 * time: a note not yet written when the process dies only means that file is fetched (or
 * checked) again.
 */
export class WriteBehind<T> {
  private pending: T[] = [];
  private running: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly write: (notes: T[]) => Promise<unknown>,
    private readonly maxBatch = 1000,
  ) {}

  /** Queues a note; a failure to write it is thrown by `flush`. */
  add(note: T): void {
    if (this.failure) return;
    this.pending.push(note);
    // `finally` runs after the assignment, even when the write fails at once.
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
  }

  /** Waits until every note added so far is written; throws the first failure to write one. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure.error;
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.length > 0) await this.write(this.pending.splice(0, this.maxBatch));
    } catch (error) {
      this.failure = { error };
      this.pending = [];
    }
  }
}
