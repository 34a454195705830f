import v8 from "node:v8";

/**
 * Download chunks are ArrayBuffers: without this, every 64 MB of them allocated starts a full
 * collection of the whole heap (V8's allowance for external memory); with it, their memory
 * counts toward the heap's own growth limit, and young chunks still die in scavenges.
 */
export function tuneHeapForStreaming(): void {
  v8.setFlagsFromString("--external-memory-accounted-in-global-limit");
}
