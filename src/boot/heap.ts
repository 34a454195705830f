import v8 from "node:v8";

/**
 * Download chunks are ArrayBuffers: without this, every 64 MB of them allocated starts a full
 * collection of the whole heap (V8's allowance for external memory); with it, their memory
 * counts toward the heap's own growth limit, and young chunks still die in scavenges.
 */
export function tuneHeapForStreaming(execArgv: readonly string[] = process.execArgv): void {
  // A choice made on node's command line (--no-… to measure without it) wins.
  if (execArgv.some((arg) => arg.includes("external-memory-accounted-in-global-limit"))) return;
  v8.setFlagsFromString("--external-memory-accounted-in-global-limit");
}

/**
 * A full collection once the process's last import has ended, when node runs with --expose-gc
 * (npm start, npm run worker and the image do). An idle V8 collects nothing: its memory reducer
 * starts only when the old generation has grown, and an import's dead buffers are external
 * memory, so without this they stay resident (72 MiB after one S3 import) until later work
 * happens to collect. Returns whether it collected.
 */
export function collectAfterImports(gc: (() => void) | null = (globalThis as { gc?: () => void }).gc ?? null): boolean {
  if (gc === null) return false;
  gc();
  return true;
}
