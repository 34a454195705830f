import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { startTestKit, type TestKit } from "../support/testkit";
import { seedServedRevision } from "./support";

/** `npm run token -- --hf` prints a token in the form Hugging Face clients accept, and it reads /hf. */

const CLI = path.join(__dirname, "../../dist/src/auth/token.cli.js");
const SECRET = randomBytes(32).toString("hex");
let kit: TestKit;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error("run `npm run build` first: this test runs the built token command");
  kit = await startTestKit({ AUTH_JWT_SECRET: SECRET });
  await seedServedRevision(kit, { name: "acme/cli-model", files: [{ path: "config.json", content: "{}" }] });
});
afterAll(() => kit?.close());

async function mint(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, AUTH_JWT_SECRET: SECRET, DATA_DIR: kit.dataDir } });
  return stdout.trim();
}

it("prints hf_<token> with --hf, which reads the endpoint; without --hf the bare token", async () => {
  const hf = await mint("--role", "user", "--hf");
  expect(hf).toMatch(/^hf_eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(await mint("--role", "user")).toMatch(/^eyJ/);
  const res = await fetch(`${kit.url}/hf/acme/cli-model/resolve/main/config.json`, { headers: { authorization: `Bearer ${hf}` } });
  expect(res.status).toBe(200);
});
