/**
 * Notes written behind the work they record: one statement at a time, each carrying every note
 * that arrived while the one before it ran (and, with `lingerMs`, while it waited for company).
 * A file import notes each file it verified (and each it placed) so that a resumed attempt skips
 * it; a statement per file put a database round trip into every small file's transfer, and a
 * model has many small files. Nothing is lost but time: a note not yet written when the
 * process dies only means that file is fetched (or checked) again.
 */
export class WriteBehind<T> {
  private pending: T[] = [];
  private running: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly onFailure?: (error: unknown) => void;
  /** Ends the current linger early (flush wants everything written now). */
  private wake: (() => void) | null = null;
  private flushing = 0;

  constructor(
    private readonly write: (notes: T[]) => Promise<unknown>,
    options: {
      /** Notes per statement at most (1000). */
      maxBatch?: number;
      /**
       * How long a statement waits for more notes before it is written (0: only until the one
       * before it is done). Each statement is a commit the database flushes to disk; notes that
       * may lag a little cost fewer of them.
       */
      lingerMs?: number;
      /** Told of the first failed write, at once: the work the notes record may stop early. */
      onFailure?: (error: unknown) => void;
    } = {},
  ) {
    this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 1000));
    this.lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.onFailure = options.onFailure;
  }

  /** Queues a note; a failure to write it is thrown by `flush`. */
  add(note: T): void {
    if (this.failure) return;
    this.pending.push(note);
    this.running ??= this.run();
  }

  /** Waits until every note added so far is written; throws the first failure to write one. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.wake?.();
      while (this.running) await this.running;
    } finally {
      this.flushing--;
    }
    if (this.failure) throw this.failure.error;
  }

  private async run(): Promise<void> {
    // Yields first, so that `running` is set before the loop can end and clear it.
    await undefined;
    try {
      while (this.pending.length > 0) {
        if (this.lingerMs > 0 && this.flushing === 0 && this.pending.length < this.maxBatch) await this.linger();
        await this.write(this.pending.splice(0, this.maxBatch));
      }
    } catch (error) {
      this.failure = { error };
      this.pending = [];
      this.onFailure?.(error);
    }
    // In the same step as the last look at `pending`: a note added from here on starts a new run.
    this.running = null;
  }

  private linger(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.lingerMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}
