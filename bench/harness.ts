import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { signToken } from "../src/auth/jwt";
import { Role } from "../src/common/enums";
import { freePort } from "../src/common/net";
import { cpuSeconds, threadCpu, threadCpuSince } from "./proc";

/*
 * What the benchmarks share: their service children (services.ts), the built server as a child
 * process, a sampler of a process's memory and CPU, and GraphQL calls to the server.
 */

export const MiB = 1024 * 1024;
/** The compiled tree (dist/): benchmarks run from dist/bench. */
export const DIST = path.resolve(__dirname, "..");

/** Samples a process's resident set every 100 ms; VmHWM (the kernel's own peak) is read at the end too. */
export class RssProbe {
  peakKiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => void this.sample(), 100);
  }

  private async sample(): Promise<void> {
    const status = await readFile(`/proc/${this.pid}/status`, "utf8").catch(() => "");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    this.peakKiB = Math.max(this.peakKiB, rss);
  }

  async stop(): Promise<{ sampledPeakMiB: number; hwmMiB: number | null; cpuSeconds: number | null; threadCpu?: Record<string, number> }> {
    clearInterval(this.timer);
    await this.sample();
    const status = await readFile(`/proc/${this.pid}/status`, "utf8").catch(() => "");
    const hwm = /VmHWM:\s+(\d+)/.exec(status)?.[1];
    const [cpu, threads] = await Promise.all([cpuSeconds(this.pid), threadCpu(this.pid)]);
    return {
      sampledPeakMiB: this.peakKiB / 1024,
      hwmMiB: hwm ? Number(hwm) / 1024 : null,
      cpuSeconds: cpu === null || this.cpuAtStart === null ? null : cpu - this.cpuAtStart,
      threadCpu: this.threadsAtStart ? threadCpuSince(this.threadsAtStart, threads) : undefined,
    };
  }

  /** CPU time (user + system) the process has used so far, in all and by thread, to tell a CPU-bound import from a waiting one. */
  async start(): Promise<this> {
    [this.cpuAtStart, this.threadsAtStart] = await Promise.all([cpuSeconds(this.pid), threadCpu(this.pid)]);
    return this;
  }

  private cpuAtStart: number | null = null;
  private threadsAtStart: Map<string, number> | null = null;
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
  });
}

/** A service child (see services.ts): started, read until ready, stopped by closing its stdin. */
export interface Service<T> {
  info: T;
  pid: number;
  /** Writes a line to the child's stdin and resolves with the next line it prints. */
  ask(line: string): Promise<string>;
  stop(): Promise<void>;
}

/** The next line the child prints; `when` names the moment in the error if it exits first. */
function nextLine(child: ChildProcess, what: string, when: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf("\n");
      if (end < 0) return;
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      resolve(out.slice(0, end));
    };
    const onExit = (code: number | null) => reject(new Error(`the ${what} service exited with ${code} ${when}`));
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
}

/** A child that prints one JSON line once it serves and serves until its stdin closes: services.js by default. */
export async function startService<T>(args: string[], script = "services.js"): Promise<Service<T>> {
  const child = spawn(process.execPath, [path.join(DIST, "bench", script), ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const what = `${script} ${args[0]}`;
  const info = JSON.parse(await nextLine(child, what, "while starting")) as T;
  return {
    info,
    pid: child.pid!,
    ask(line) {
      const answer = nextLine(child, what, "before answering");
      child.stdin!.write(`${line}\n`);
      return answer;
    },
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}

export interface Server {
  url: string;
  pid: number;
  token: string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * The variables (`NAME=value` before `node`) and node flags `npm start` runs the server with
 * (package.json), so the benchmarks measure the server as it is run.
 */
export function startCommand(): { env: Record<string, string>; flags: string[] } {
  const { scripts } = JSON.parse(readFileSync(path.join(DIST, "..", "package.json"), "utf8")) as { scripts: Record<string, string> };
  const words = scripts.start.split(/\s+/);
  const node = words.indexOf("node");
  const env = Object.fromEntries(words.slice(0, node).map((word) => [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]));
  return { env, flags: words.slice(node + 1, words.indexOf("dist/src/main.js")).filter((word) => word.startsWith("--")) };
}

/**
 * Starts the built server and waits until it is ready: this tree's with `npm start`'s node flags,
 * then `nodeArgs` (a later flag wins); or `main`, another build's (a baseline), with `nodeArgs` alone.
 */
export async function startServer(env: Record<string, string>, nodeArgs: string[], logFile: string, main?: string): Promise<Server> {
  const port = await freePort();
  const secret = randomBytes(32).toString("hex");
  const log = createWriteStream(logFile);
  const start = startCommand();
  const child = spawn(process.execPath, main ? [...nodeArgs, main] : [...start.flags, ...nodeArgs, path.join(DIST, "src", "main.js")], {
    env: { ...process.env, ...(main ? {} : start.env), ...env, HOST: "127.0.0.1", PORT: String(port), AUTH_JWT_SECRET: secret, LOG_LEVEL: env.LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} while starting; see ${logFile}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the server was not ready within 120 s; see ${logFile}`);
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    token: signToken({ sub: "bench", role: Role.SUPERADMIN }, secret, "2h"),
    logFile,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        process.stderr.write(`the server did not stop within 30 s of SIGTERM: killed\n`);
        child.kill("SIGKILL");
      }, 30_000);
      await exited(child);
      clearTimeout(timer);
      log.end();
    },
  };
}

/** A whole-number setting of the environment, at least `min`; unset or empty is `fallback`. */
export function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const value = env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${env[name]}`);
  return value;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function gql<T = any>(server: Server, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL failed:\n${query}\n${JSON.stringify(body, null, 2)}`);
  return body.data;
}


/** The p-th percentile (0–100) of the values, by the nearest-rank method; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures the three parties of a run in an order that rotates from run to run (ABC, BCA, CAB),
 * so that a drift in the machine's speed favours none; the results come back in A, B, C order.
 */
export async function inRotation<A, B, C>(run: number, a: () => Promise<A>, b: () => Promise<B>, c: () => Promise<C>): Promise<[A, B, C]> {
  const steps: Array<() => Promise<unknown>> = [a, b, c];
  const results: unknown[] = [];
  for (let k = 0; k < 3; k++) {
    const i = (run - 1 + k) % 3;
    results[i] = await steps[i]();
  }
  return results as [A, B, C];
}

/** Measures both sides of a run, the baseline first in odd runs and last in even ones, so a drift in the machine's speed favours neither. */
export async function bothInTurn<B, M>(run: number, baseline: () => Promise<B>, measured: () => Promise<M>): Promise<[B, M]> {
  if (run % 2 === 1) {
    const b = await baseline();
    return [b, await measured()];
  }
  const m = await measured();
  return [await baseline(), m];
}
