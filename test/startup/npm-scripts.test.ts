import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ensureBuilt, ROOT } from "../support/built";
import { captureOutput, waitForOutput } from "../support/spawned";

/*
 * `npm start` and `npm run worker` as a user types them (without their build step): the
 * scripts carry no shell syntax, yet the service process itself runs with glibc's
 * MALLOC_MMAP_THRESHOLD_ and the node flags, and the service's exit code is npm's: 0 after a
 * SIGTERM, non-zero after a failed start.
 */

jest.setTimeout(120_000);
const linux = process.platform === "linux";

/** Runs `npm <args>` in a process group of its own (as a terminal does), without the variable in its environment. */
function npm(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", HOST: "127.0.0.1", LOG_LEVEL: "info" };
  for (const key of ["MALLOC_MMAP_THRESHOLD_", "NODE_OPTIONS", "DATABASE_URL", "S3_ENDPOINT", "AUTH_JWT_SECRET", "HF_TOKEN"]) delete base[key];
  const child = spawn("npm", [...args, "--ignore-scripts"], { cwd: ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output = captureOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exited };
}

/** The descendants of `pid` (from /proc), with their command lines. */
function descendants(pid: number): { pid: number; cmdline: string[] }[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const found: { pid: number; cmdline: string[] }[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid !== parent) continue;
      found.push({ pid: child, cmdline: readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0").filter(Boolean) });
      walk(child);
    }
  };
  walk(pid);
  return found;
}

const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");

let dataDir: string;
beforeAll(async () => {
  await ensureBuilt();
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ar-npm-"));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe("the npm scripts", () => {
  (linux ? it : it.skip)("run the server with MALLOC_MMAP_THRESHOLD_=131072 and the node flags, and its clean stop on SIGTERM is npm's exit code 0", async () => {
    const run = npm(["start"], { DATA_DIR: dataDir, PORT: "0" });
    try {
      await waitForOutput(run.child, run.output, /is up: http:\/\/127\.0\.0\.1:\d+\/graphql/, "the server's banner");
      const servers = descendants(run.child.pid!).filter((p) => path.basename(p.cmdline[0]) === "node" && p.cmdline.at(-1)!.endsWith(path.join("dist", "src", "main.js")));
      expect(servers).toHaveLength(1);
      const [server] = servers;
      expect(environOf(server.pid)).toContain("MALLOC_MMAP_THRESHOLD_=131072");
      expect(server.cmdline).toEqual(expect.arrayContaining(["--max-semi-space-size=2", "--max-old-space-size=256", "--expose-gc"]));
      // The service's own pid (no launcher stands between): its clean stop is npm's exit code 0.
      process.kill(server.pid, "SIGTERM");
      expect(await run.exited).toBe(0);
      expect(run.output()).toContain("SIGTERM received");
    } finally {
      // Whatever is left of the group when an assertion failed.
      try {
        process.kill(-run.child.pid!, "SIGKILL");
      } catch {
        // Nothing was left.
      }
    }
  });

  it("hand the service's exit code to npm: a worker that cannot start makes `npm run worker` fail, saying why", async () => {
    const run = npm(["run", "worker"], { DATA_DIR: dataDir });
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain("import worker failed to start: a separate import worker needs DATABASE_URL");
  });
});
