/*
 * glibc reads MALLOC_MMAP_THRESHOLD_ only when a process starts, so an entry point cannot set it
 * for itself: when it is missing, the process replaces itself (execve: same pid, same stdio, same
 * node flags and arguments) with one that has it. Signals and the exit code are then the
 * service's own, and npm scripts need no shell syntax to set it (docs/configuration.md#node-options).
 * src/boot/reexec.ts does it; this module only decides.
 */

/** Every allocation of 128 KiB or more gets pages of its own, returned to the system when freed. */
export const MMAP_THRESHOLD = "131072";

export interface Reexec { file: string; args: string[]; env: NodeJS.ProcessEnv }

/**
 * The command this process should replace itself with, or null when it should run as it is: off
 * Linux (the variable is glibc's), or when the variable is set (a value of one's own wins).
 */
export function allocatorReexec(proc: Pick<NodeJS.Process, "platform" | "env" | "execPath" | "execArgv" | "argv">): Reexec | null {
  if (proc.platform !== "linux" || proc.env.MALLOC_MMAP_THRESHOLD_ !== undefined) return null;
  return {
    file: proc.execPath,
    args: [proc.execPath, ...proc.execArgv, ...proc.argv.slice(1)],
    env: { ...proc.env, MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD },
  };
}
