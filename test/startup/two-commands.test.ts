import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "../support/testkit";

/**
 * README's run command on a fresh machine: the built server with no DATABASE_URL, no S3 and no
 * secret starts embedded PostgreSQL and filesystem storage, prints a token that works at once,
 * stops cleanly on SIGTERM, and keeps its data across a restart.
 */
const MAIN = path.join(__dirname, "../../dist/src/main.js");
jest.setTimeout(120_000);

interface Running { child: ChildProcess; token: string; url: string; output: () => string }

async function start(dataDir: string, port: number): Promise<Running> {
  // NODE_ENV=production, as a real start: libraries behave differently under "test" (Apollo installs its own signal handlers outside tests).
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" };
  for (const key of ["DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "AUTH_JWT_SECRET", "HF_TOKEN"]) delete env[key];
  const child = spawn(process.execPath, [MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const token = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no token printed within 60 s:\n${out}`)), 60_000);
    child.stdout!.on("data", () => {
      const match = /\/#token=(\S+\.\S+\.\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before printing a token:\n${out}`));
    });
  });
  return { child, token, url: `http://127.0.0.1:${port}`, output: () => out };
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
    if (!existsSync(MAIN)) throw new Error("run `npm run build` first: the start-up test runs the built server");
    dataDir = await mkdtemp(path.join(os.tmpdir(), "ar-start-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("serves artifacts with the printed token, stops on SIGTERM, and keeps its data across a restart", async () => {
    const port = await freePort();
    const first = await start(dataDir, port);
    try {
      expect(await gql(first, "{ artifacts(first: 10) { count edges { node { id } } } }")).toEqual({ artifacts: { count: 0, edges: [] } });
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).toBe(200);
      await gql(first, `mutation { createVFSStorage(input: { name: "kept", host: "local", basePath: "/tmp/kept" }) { vfsStorage { id } } }`);
      const registries = await gql(first, "{ huggingfaceRegistries { edges { node { id name url } } } }");
      expect(registries.huggingfaceRegistries.edges.map((e: any) => e.node.name)).toEqual(["huggingface"]);
    } finally {
      expect(await stop(first)).toBe(0);
    }
    expect(existsSync(path.join(dataDir, "postgres", "PG_VERSION"))).toBe(true);

    const second = await start(dataDir, port);
    try {
      // The secret generated on first start was kept, so the first token still works.
      const data = await gql({ ...second, token: first.token }, "{ vfsStorages { edges { node { name } } } huggingfaceRegistries { count } }");
      expect(data.vfsStorages.edges.map((e: any) => e.node.name)).toEqual(expect.arrayContaining(["kept", "default-fs"]));
      expect(data.huggingfaceRegistries.count).toBe(1);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });
});
