import { ERRORS } from "./errors";

/**
 * A signal that aborts after `ms` with an UPSTREAM_ERROR saying what ran out of time. Upstream
 * calls made with it stop there: a hub that drips its answers a byte at a time cannot keep a
 * scan, or a background detail job, running. `clear` when the work is done.
 */
export function deadlineSignal(ms: number, what: string): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(ERRORS.upstream(`${what} did not finish within ${ms / 1000} s (SCAN_REQUEST_TIMEOUT_SECONDS)`));
  }, ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** Runs `work` under a deadline; at the deadline it answers with the deadline's error, even if some step ignores the signal. */
export async function withDeadline<T>(ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { signal, clear } = deadlineSignal(ms, what);
  const expired = new Promise<never>((_resolve, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  // The work's own rejection after the deadline is the same abort: it is not left unhandled.
  const running = work(signal);
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clear();
  }
}
