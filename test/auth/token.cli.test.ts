import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import jwt from "jsonwebtoken";
import { authDerivedKey } from "../../src/common/secrets";
import { ensureBuilt, scriptArgs } from "../support/built";
import { GraphQLClient, startTestKit } from "../support/testkit";

/* `npm run token`, as built: the token it prints, for every flag, and the refusals of bad ones. */

jest.setTimeout(120_000);

interface Run { code: number; stdout: string; stderr: string }

let nodeArgs: string[];
let dataDir: string;
const secret = randomBytes(32).toString("hex");

beforeAll(async () => {
  await ensureBuilt();
  nodeArgs = await scriptArgs("token");
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ar-token-"));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** Runs the CLI with only PATH and DATA_DIR from outside, plus `env`. */
function token(args: string[], env: Record<string, string> = { AUTH_JWT_SECRET: secret }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, ...args], { env: { PATH: process.env.PATH, DATA_DIR: dataDir, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The token the run printed, verified with `key`; fails printing the run otherwise. */
function claimsOf(run: Run, key = secret): jwt.JwtPayload {
  if (run.code !== 0 || !/^\S+\.\S+\.\S+\n$/.test(run.stdout)) throw new Error(`expected one token on stdout, got ${JSON.stringify(run)}`);
  return jwt.verify(run.stdout.trim(), key, { algorithms: ["HS256"] }) as jwt.JwtPayload;
}

const DAY = 86_400;

describe("npm run token", () => {
  it.each([
    ["no flags: a superadmin for 30 days", [], { role: "superadmin", sub: "cli-superadmin", lifetime: 30 * DAY }],
    ["--role admin", ["--role", "admin"], { role: "admin", sub: "cli-admin", lifetime: 30 * DAY }],
    ["--role user --sub alice", ["--role", "user", "--sub", "alice"], { role: "user", sub: "alice", lifetime: 30 * DAY }],
    ["--expires 7d", ["--expires", "7d"], { role: "superadmin", sub: "cli-superadmin", lifetime: 7 * DAY }],
    ["--expires 90m", ["--expires", "90m"], { role: "superadmin", sub: "cli-superadmin", lifetime: 90 * 60 }],
    ["--expires 2w", ["--expires", "2w"], { role: "superadmin", sub: "cli-superadmin", lifetime: 14 * DAY }],
    // A bare number is seconds (jsonwebtoken alone would read "3600" as 3.6 s).
    ["--expires 3600", ["--expires", "3600"], { role: "superadmin", sub: "cli-superadmin", lifetime: 3600 }],
    ["--role=admin --sub=ci --expires=12h", ["--role=admin", "--sub=ci", "--expires=12h"], { role: "admin", sub: "ci", lifetime: 12 * 3600 }],
    ["--ttl 45m, the other name of --expires", ["--ttl", "45m"], { role: "superadmin", sub: "cli-superadmin", lifetime: 45 * 60 }],
  ])("%s: prints a token signed with the secret, with those claims", async (_what, args, expected) => {
    const before = Math.floor(Date.now() / 1000);
    const claims = claimsOf(await token(args));
    expect({ role: claims.role, sub: claims.sub, lifetime: claims.exp! - claims.iat! }).toEqual(expected);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("--secrets-key prints the key auth of SECRETS_ENCRYPTION_KEYS written out, for the secret configured", async () => {
    const run = await token(["--secrets-key"]);
    expect(run).toEqual({ code: 0, stdout: `auth:${authDerivedKey(secret).key.toString("base64")}\n`, stderr: "" });
    expect((await token(["--secrets-key"], { AUTH_JWT_SECRET: randomBytes(32).toString("hex") })).stdout).not.toBe(run.stdout);
  });

  it("prints tokens a server with the same secret accepts, with the role they name", async () => {
    const kit = await startTestKit({ AUTH_JWT_SECRET: secret, IMPORT_WORKER: "false" });
    try {
      const query = `{ apiKeypairs { count } }`;
      const minted = async (role: string) => {
        const run = await token(["--role", role]);
        claimsOf(run);
        return run.stdout.trim();
      };
      await new GraphQLClient(kit.url, await minted("superadmin")).ok(query);
      await new GraphQLClient(kit.url, await minted("user")).fails(query, {}, "FORBIDDEN");
    } finally {
      await kit.close();
    }
  });

  it("without AUTH_JWT_SECRET signs with the secret kept in DATA_DIR, the same every run", async () => {
    const first = await token(["--role", "admin"], {});
    const stored = (await readFile(path.join(dataDir, "auth-jwt-secret"), "utf8")).trim();
    expect(claimsOf(first, stored)).toMatchObject({ role: "admin" });
    expect(claimsOf(await token(["--role", "user"], {}), stored)).toMatchObject({ role: "user" });
    expect(() => claimsOf(first, secret)).toThrow(/invalid signature/);
  });

  it.each([
    ["an unknown role", ["--role", "root"], /^--role must be one of superadmin, admin, user\n$/],
    ["a role in capitals", ["--role", "ADMIN"], /^--role must be one of superadmin, admin, user\n$/],
    ["--role without a value", ["--role"], /^Option '--role <value>' argument missing/],
    ["an unknown flag", ["--bogus"], /^Unknown option '--bogus'/],
    ["a positional argument", ["admin"], /^Unexpected argument 'admin'/],
    ["an empty --sub", ["--sub", " "], /^--sub must not be empty\n$/],
    ["--expires that is not a duration", ["--expires", "soon"], /^--expires must be a positive duration.*\(got "soon"\)\n$/],
    ["--expires 0, a token born expired", ["--expires", "0"], /^--expires must be a positive duration/],
    ["--expires with a unit jsonwebtoken knows and we do not", ["--expires", "1y"], /^--expires must be a positive duration/],
    ["a negative --expires", ["--expires=-5m"], /^--expires must be a positive duration/],
    ["both --expires and --ttl", ["--expires", "1h", "--ttl", "1h"], /^give --expires or --ttl, not both\n$/],
    ["--expires longer than AUTH_MAX_TOKEN_TTL (30 days by default)", ["--expires", "31d"], /^--expires 31d is longer than the 2592000 s the server accepts \(AUTH_MAX_TOKEN_TTL\)/],
  ])("refuses %s: exits 1, says why on stderr, prints no token", async (_what, args, message) => {
    const run = await token(args);
    expect(run).toEqual({ code: 1, stdout: "", stderr: expect.stringMatching(message) });
  });

  it("mints at most AUTH_MAX_TOKEN_TTL by default, and refuses a longer --ttl", async () => {
    const env = { AUTH_JWT_SECRET: secret, AUTH_MAX_TOKEN_TTL: "2h" };
    const claims = claimsOf(await token([], env));
    expect(claims.exp! - claims.iat!).toBe(2 * 3600);
    expect(await token(["--ttl", "3h"], env)).toEqual({ code: 1, stdout: "", stderr: expect.stringMatching(/^--ttl 3h is longer than the 7200 s/) });
  });

  it("refuses a bad configuration with the variable named", async () => {
    const run = await token([], { AUTH_JWT_SECRET: "short" });
    expect(run).toEqual({ code: 1, stdout: "", stderr: expect.stringMatching(/AUTH_JWT_SECRET must be at least 32 characters/) });
  });
});
