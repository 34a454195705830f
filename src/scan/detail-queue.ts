import pLimit from "p-limit";
import type { Logger } from "../common/logger";

/**
 * Background work of scans (READMEs and manifests) with bounded concurrency, in this process.
 * Losing queued work in a crash is harmless: the next scan fetches the details again.
 */
export class DetailQueue {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly pending = new Set<Promise<void>>();

  constructor(concurrency: number, private readonly logger: Logger) {
    this.limit = pLimit(concurrency);
  }

  enqueue(label: string, job: () => Promise<void>): void {
    this.add(label, this.limit(job));
  }

  /** Work a job leaves running when it returns (its database write): idle() waits for it, but it holds no slot. */
  track(label: string, work: Promise<unknown>): void {
    this.add(label, work);
  }

  private add(label: string, work: Promise<unknown>): void {
    const run = work.then(() => undefined, (error: unknown) => this.logger.warn(`scan detail job failed: ${label}`, error));
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }

  /** Resolves once every job queued so far (and any they queued) has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  get size(): number {
    return this.pending.size;
  }
}
