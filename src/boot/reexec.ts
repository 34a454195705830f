import { allocatorReexec } from "./allocator";

/*
 * Imported first, for its effect, by the entry points (src/main.ts, src/worker.ts) and nothing
 * else: before the rest of the service loads, the process replaces itself with one that has
 * glibc's MALLOC_MMAP_THRESHOLD_ (see ./allocator.ts).
 */
const reexec = allocatorReexec(process);
if (reexec) process.execve?.(reexec.file, reexec.args, reexec.env);
