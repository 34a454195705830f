/** Time as the server reads it; tests pass a clock they move by hand, so nothing waits on the wall. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `run` once `now()` reaches `at` (ms since the epoch); the returned function cancels it. */
  at(at: number, run: () => void): () => void;
}

/** setTimeout takes at most this many milliseconds (about 24.8 days); longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  at: (at, run) => {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const wait = at - Date.now();
      if (wait <= 0) return void run();
      timer = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};
