import { readdir, readFile } from "node:fs/promises";

/*
 * CPU time from /proc, for processes the benchmark watches and for the baseline's own: in
 * seconds of user + system time (clock ticks are 1/100 s on Linux).
 */

/** The fields of a /proc stat line after its command name, which may hold spaces and parentheses. */
function statFields(stat: string): { comm: string; seconds: number } | null {
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  if (open < 0 || close < 0) return null;
  const fields = stat.slice(close + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? { comm: stat.slice(open + 1, close), seconds: (utime + stime) / 100 } : null;
}

/** utime + stime of the whole process. */
export async function cpuSeconds(pid: number | "self"): Promise<number | null> {
  return statFields(await readFile(`/proc/${pid}/stat`, "utf8").catch(() => ""))?.seconds ?? null;
}

/**
 * The process's CPU time by kind of thread: "main" (the event loop), and the rest by their names.
 * Node 20 leaves its own threads (file system calls, worker threads such as the hashing one, the
 * garbage collector's helpers) with the process's name, "node"; later versions name some of them.
 */
export async function threadCpu(pid: number | "self"): Promise<Map<string, number>> {
  const own = pid === "self" ? process.pid : pid;
  const byKind = new Map<string, number>();
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  await Promise.all(tids.map(async (tid) => {
    const fields = statFields(await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => ""));
    if (!fields) return;
    const kind = Number(tid) === own ? "main" : fields.comm;
    byKind.set(kind, (byKind.get(kind) ?? 0) + fields.seconds);
  }));
  return byKind;
}

/** What each kind of thread used between two readings of threadCpu; threads that ended in between are lost. */
export function threadCpuSince(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const used: Record<string, number> = {};
  // A kind whose threads ended in between may come out below its first reading: it counts 0.
  for (const [kind, seconds] of after) used[kind] = Math.max(0, seconds - (before.get(kind) ?? 0));
  return used;
}

/** "node 1.3, main 1.0": the kinds that used at least 0.05 s, busiest first. */
export function formatThreadCpu(used: Record<string, number> | undefined): string {
  if (!used) return "";
  return Object.entries(used)
    .filter(([, seconds]) => seconds >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, seconds]) => `${kind} ${seconds.toFixed(1)}`)
    .join(", ");
}

/**
 * Times and costs a transfer of this process (the baseline's, the peer's): call at its start; the
 * returned function prints, on stdout, the line the benchmark reads for the bytes moved.
 */
export async function transferMeter(): Promise<(bytes: number) => Promise<void>> {
  const started = process.hrtime.bigint();
  const startedAtMs = performance.timeOrigin + performance.now();
  const cpuAtStart = process.cpuUsage();
  const threadsAtStart = await threadCpu("self");
  return async (bytes) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuAtStart);
    const threads = threadCpuSince(threadsAtStart, await threadCpu("self"));
    process.stdout.write(`${JSON.stringify({ bytes, seconds, startedAtMs, cpuSeconds: (cpu.user + cpu.system) / 1e6, threadCpu: threads })}\n`);
  };
}
