import { readdir, readFile, readlink } from "node:fs/promises";

/*
 * Who holds what, for start-up messages. Linux only (from /proc): elsewhere, and for processes
 * this user may not inspect, the answers are null and the messages say less.
 */

/** The process listening on TCP `port` (any address), or null when it cannot be told. */
export async function tcpListener(port: number): Promise<number | null> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields.length > 9 && fields[3] === "0A" && parseInt(fields[1].split(":")[1], 16) === port) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return null;
  const sockets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const pid of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      if (sockets.has(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ""))) return Number(pid);
    }
  }
  return null;
}

/** The parent of a process, or null. */
export async function parentPid(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
  const ppid = stat ? Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) : NaN;
  return Number.isInteger(ppid) && ppid > 0 ? ppid : null;
}

/** "pid 123 (node dist/src/main.js)", or "pid 123" when its command line cannot be read. */
export async function describePid(pid: number): Promise<string> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const command = cmdline.split("\0").filter(Boolean).join(" ");
  return command ? `pid ${pid} (${command.length > 120 ? `${command.slice(0, 117)}...` : command})` : `pid ${pid}`;
}
