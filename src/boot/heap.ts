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
