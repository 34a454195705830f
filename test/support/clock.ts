import type { Clock } from "../../src/common/clock";

/**
 * A clock the test moves: tokens expire when the test says so, not after a wait. advance()
 * runs what became due, in order; `{ runTimers: false }` moves time without them, as a timer
 * that is late would.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Set<{ at: number; run: () => void }>();

  constructor(start = Date.now()) {
    this.current = start;
  }

  /** Timers not yet run or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  now(): number {
    return this.current;
  }

  at(at: number, run: () => void): () => void {
    const timer = { at, run };
    if (at <= this.current) {
      run();
      return () => {};
    }
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  advance(ms: number, { runTimers = true } = {}): void {
    this.current += ms;
    if (!runTimers) return;
    const due = [...this.timers].filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at);
    for (const timer of due) {
      this.timers.delete(timer);
      timer.run();
    }
  }
}
