import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/common/net";
import { ensureBuilt } from "../support/built";

/**
 * README's run command on a fresh machine: the built server with no DATABASE_URL, no S3 and no
 * secret starts embedded PostgreSQL and filesystem storage, prints a token that works at once,
 * stops cleanly on SIGTERM, and keeps its data across a restart. When it cannot start, it says
 * why; a Ctrl-C stops it without an error.
 */
const MAIN = path.join(__dirname, "../../dist/src/main.js");
const WORKER = path.join(__dirname, "../../dist/src/worker.js");
jest.setTimeout(120_000);

interface Running { child: ChildProcess; token: string; url: string; output: () => string }

interface StartOptions {
  /** A process group of its own, as a terminal gives `npm start`: a Ctrl-C is a SIGINT to the whole group. */
  detached?: boolean;
  logLevel?: string;
}

function spawnServer(dataDir: string, port: number, options: StartOptions & { entry?: string; env?: NodeJS.ProcessEnv } = {}) {
  // NODE_ENV=production, as a real start: libraries behave differently under "test" (Apollo installs its own signal handlers outside tests).
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: options.logLevel ?? "warn" };
  for (const key of ["DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "AUTH_JWT_SECRET", "HF_TOKEN"]) delete env[key];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [options.entry ?? MAIN], { env, stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, output: () => out };
}

/** Starts the server on PORT=0: the system picks the port, and the banner names the one the server got. */
async function start(dataDir: string, options: StartOptions = {}): Promise<Running> {
  const { child, output } = spawnServer(dataDir, 0, options);
  const [url, token] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no token printed within 60 s:\n${output()}`)), 60_000);
    child.stdout!.on("data", () => {
      const match = /is up: (http:\/\/127\.0\.0\.1:[1-9]\d*)\/graphql\n[\s\S]*\/#token=(\S+\.\S+\.\S+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve([match[1], match[2]]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before printing a token:\n${output()}`));
    });
  });
  return { child, token, url, output };
}

/** Starts a server that is expected to refuse to start: its exit code and everything it printed. */
async function failedStart(dataDir: string, port: number, options: { entry?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnServer(dataDir, port, options);
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server did not exit within 60 s:\n${output()}`));
    }, 60_000);
    child.once("exit", (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  return { code, output: output() };
}

async function stop(running: Running): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => running.child.once("exit", (code) => resolve(code)));
  running.child.kill("SIGTERM");
  return exited;
}

async function gql(running: Running, query: string) {
  const res = await fetch(`${running.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${running.token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as any;
  if (body.errors) throw new Error(`${query}\n${JSON.stringify(body, null, 2)}\n${running.output()}`);
  return body.data;
}

describe("npm start on a fresh machine", () => {
  let dataDir: string;
  beforeAll(async () => {
    // The test runs the built server: build it when dist/ is older than src/.
    await ensureBuilt();
    dataDir = await mkdtemp(path.join(os.tmpdir(), "ar-start-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("serves artifacts with the printed token, stops on SIGTERM, and keeps its data across a restart", async () => {
    const first = await start(dataDir);
    try {
      expect(await gql(first, "{ artifacts(first: 10) { count edges { node { id } } } }")).toEqual({ artifacts: { count: 0, edges: [] } });
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).toBe(200);
      // The built server loads its modules in another order than `npm run schema:print`; the SDL must not follow it.
      const sdl = await fetch(`${first.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ _service { sdl } }" }) });
      expect(`${((await sdl.json()) as any).data._service.sdl.trim()}\n`).toBe(readFileSync(path.join(__dirname, "../../schema.graphql"), "utf8"));
      await gql(first, `mutation { createVFSStorage(input: { name: "kept", host: "local", basePath: "/tmp/kept" }) { vfsStorage { id } } }`);
      const registries = await gql(first, "{ huggingfaceRegistries { edges { node { id name url } } } }");
      expect(registries.huggingfaceRegistries.edges.map((e: any) => e.node.name)).toEqual(["huggingface"]);
    } finally {
      expect(await stop(first)).toBe(0);
    }
    expect(existsSync(path.join(dataDir, "postgres", "PG_VERSION"))).toBe(true);

    const second = await start(dataDir);
    try {
      // The secret generated on first start was kept, so the first token still works.
      const data = await gql({ ...second, token: first.token }, "{ vfsStorages { edges { node { name } } } huggingfaceRegistries { count } }");
      expect(data.vfsStorages.edges.map((e: any) => e.node.name)).toEqual(expect.arrayContaining(["kept", "default-fs"]));
      expect(data.huggingfaceRegistries.count).toBe(1);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });
  it("names the port and the process holding it when the port is taken, and exits non-zero", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", () => resolve()));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const { code, output } = await failedStart(dataDir, port);
      expect(code).not.toBe(0);
      expect(output).toContain(`artifact registry failed to start: port ${port} on 127.0.0.1 is in use`);
      // This test's process holds the port; /proc tells who that is on Linux.
      if (process.platform === "linux") expect(output).toContain(`in use by pid ${process.pid} (`);
      expect(output).not.toContain("failed to start: undefined");
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it("refuses a second instance on the same DATA_DIR, naming the folder and the first instance's pid, and the first keeps serving", async () => {
    const first = await start(dataDir);
    try {
      const { code, output } = await failedStart(dataDir, 0);
      expect(code).not.toBe(0);
      expect(output).toContain(`artifact registry failed to start: the data folder ${dataDir} is in use by another artifact registry, pid ${first.child.pid} (`);
      expect(output).not.toContain("failed to start: undefined");
      expect(await gql(first, "{ artifacts(first: 1) { count } }")).toEqual({ artifacts: { count: 0 } });
    } finally {
      expect(await stop(first)).toBe(0);
    }
  });

  it("stops on a Ctrl-C (SIGINT to its process group) with exit code 0, no warning or error logged, and PostgreSQL stopped", async () => {
    const running = await start(dataDir, { detached: true, logLevel: "info" });
    const exited = new Promise<number | null>((resolve) => running.child.once("exit", (code) => resolve(code)));
    process.kill(-running.child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    const problems = running.output().split("\n").filter((line) => /"level":"(warn|error)"/.test(line));
    expect(problems).toEqual([]);
    // PostgreSQL removes its pid file when it has shut down.
    expect(existsSync(path.join(dataDir, "postgres", "postmaster.pid"))).toBe(false);
  });
  it("has the import worker say which database it needs, or cannot reach, and exit non-zero", async () => {
    const without = await failedStart(dataDir, 0, { entry: WORKER });
    expect(without.code).not.toBe(0);
    expect(without.output).toContain("import worker failed to start: a separate import worker needs DATABASE_URL");

    const closed = await freePort();
    const unreachable = await failedStart(dataDir, 0, { entry: WORKER, env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/registry` } });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.output).toContain(`import worker failed to start: cannot reach PostgreSQL at 127.0.0.1:${closed}/registry (DATABASE_URL): connect ECONNREFUSED`);
  });
});
