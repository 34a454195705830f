import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type DocumentNode } from "graphql";
import type { DataSource } from "typeorm";
import { signToken } from "../../src/auth/jwt";
import type { Clock } from "../../src/common/clock";
import { Role } from "../../src/common/enums";
import { createLogger } from "../../src/common/logger";
import { loadConfig, type Config } from "../../src/config/config";
import { boot, type Booted } from "../../src/server/boot";
import { createTestDatabase, type TestDatabase } from "./database";
import { describeChange, takeSnapshot, type Snapshot, type SnapshotScope } from "./snapshot";
export { describeChange, type Snapshot, type SnapshotScope } from "./snapshot";

export type RoleName = "superadmin" | "admin" | "user";

export interface GraphQLResponse<T = any> {
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }>;
}

type Operation = string | DocumentNode;
type Vars = Record<string, unknown>;
const text = (op: Operation) => (typeof op === "string" ? op : print(op));

/**
 * Whether the field an error names answered null. An error without a path (parse, validation,
 * authentication) must come with no data at all; one with a path must have nulled its field or
 * an ancestor (null propagation): data for a refused mutation's root field means the operation
 * went on, or half of it did. The exception is an item of a batch mutation (the error names it
 * in `extensions.inputPath`): the field answers the items that succeeded, so refuses() is what
 * proves the refused item changed nothing.
 */
export function errorNulledItsField(data: unknown, error: { path?: (string | number)[]; extensions?: Record<string, unknown> }): boolean {
  if (error.extensions?.inputPath) return true;
  if (!error.path?.length) return data == null;
  let value: unknown = data;
  for (const step of error.path) {
    if (value == null) return true;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value == null;
}

function describeExchange(op: Operation, variables: unknown, response: unknown): string {
  return `Operation:\n${text(op)}\nVariables: ${JSON.stringify(variables, null, 2)}\nResponse: ${JSON.stringify(response, null, 2)}`;
}

/** How a client of the kit looks at the server's state around a refusal. */
export interface StateProbe {
  snapshot(scope?: SnapshotScope): Promise<Snapshot>;
}

export class GraphQLClient {
  constructor(
    readonly url: string,
    readonly token: string | null,
    private readonly extraHeaders: Record<string, string> = {},
    private readonly state: StateProbe | null = null,
  ) {}

  async execute<T = any, V extends Vars = Vars>(op: Operation | TypedDocumentNode<T, V>, variables: V | Vars = {}): Promise<GraphQLResponse<T> & { status: number }> {
    const res = await fetch(`${this.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...this.extraHeaders,
      },
      body: JSON.stringify({ query: text(op), variables }),
    });
    const body = (await res.json()) as GraphQLResponse<T>;
    return { ...body, status: res.status };
  }

  /** Runs the operation and returns its data; fails the test, printing both, on any error. */
  async ok<T = any, V extends Vars = Vars>(op: Operation | TypedDocumentNode<T, V>, variables: V | Vars = {}): Promise<T> {
    const response = await this.execute<T>(op, variables);
    if (response.errors?.length || !response.data) {
      throw new Error(`Expected no GraphQL errors.\n${describeExchange(op, variables, response)}`);
    }
    return response.data;
  }

  /**
   * Runs the operation and returns the first error with `code`, whose field must have answered
   * null (see errorNulledItsField); fails the test, printing both, otherwise.
   */
  async fails<T = any, V extends Vars = Vars>(op: Operation | TypedDocumentNode<T, V>, variables: V | Vars, code: string) {
    const response = await this.execute(op, variables);
    const error = response.errors?.find((e) => e.extensions?.code === code);
    if (!error) throw new Error(`Expected an error with extensions.code ${code}.\n${describeExchange(op, variables, response)}`);
    if (!errorNulledItsField(response.data, error)) {
      throw new Error(`Expected the field that failed with ${code} to answer null, but it has data.\n${describeExchange(op, variables, response)}`);
    }
    return { ...error, response };
  }

  /**
   * Like fails(), and the rows of the service's tables and the files under its data directory
   * (and `scope.folders`) are the same afterwards: a refusal changes nothing.
   */
  async refuses<T = any, V extends Vars = Vars>(op: Operation | TypedDocumentNode<T, V>, variables: V | Vars, code: string, scope?: SnapshotScope) {
    if (!this.state) throw new Error("refuses() needs a client made by kit.as(), which can read the server's state");
    const before = await this.state.snapshot(scope);
    const refused = await this.fails(op, variables, code);
    const change = describeChange(before, await this.state.snapshot(scope));
    if (change) throw new Error(`Expected the refused operation to change nothing, but:\n${change}\n${describeExchange(op, variables, refused.response)}`);
    return refused;
  }
}

export interface TestKit {
  url: string;
  ds: DataSource;
  config: Config;
  booted: Booted;
  db: TestDatabase;
  dataDir: string;
  token(role: RoleName, sub?: string): string;
  as(role: RoleName | null): GraphQLClient;
  /**
   * Rows of every table (or `scope.tables`) and files under the data directory and `scope.folders`,
   * once the background work of scans has settled; compare two with describeChange.
   */
  snapshot(scope?: SnapshotScope): Promise<Snapshot>;
  /** Runs fn and returns how many SQL statements the server sent meanwhile. */
  countQueries(fn: () => Promise<unknown>): Promise<{ count: number; statements: string[] }>;
  close(): Promise<void>;
}


export interface TestKitOptions {
  /** Boot on this database instead of a fresh one (a second server process); it is not dropped on close. */
  database?: TestDatabase;
  /** What the server reads the time from (tokens' expiry); see support/clock.ts. */
  clock?: Clock;
}

/** A whole server, as production boots it, on a fresh database and a temporary data directory. */
export async function startTestKit(env: Record<string, string> = {}, options: TestKitOptions = {}): Promise<TestKit> {
  const ownsDatabase = !options.database;
  const db = options.database ?? (await createTestDatabase());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "ar-test-"));
  const config = loadConfig({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    // The system picks the port as the server binds it, so no other process can take it first.
    PORT: "0",
    AUTH_JWT_SECRET: randomBytes(32).toString("hex"),
    HF_ENDPOINT: "http://127.0.0.1:9",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...env,
  });
  let recording: string[] | null = null;
  let booted: Booted;
  try {
    booted = await boot(config, {
      logger: createLogger(config.logLevel),
      onQuery: (sql) => recording?.push(sql),
      clock: options.clock,
    });
  } catch (error) {
    if (ownsDatabase) await db.drop();
    throw error;
  }
  const ds = booted.ds;
  const token = (role: RoleName, sub = `test-${role}`) => signToken({ sub, role: role as Role }, booted.authSecret, "1h");
  const state: StateProbe = {
    snapshot: async (scope = {}) => {
      // A scan's details are written in the background: let them land before, not during, a comparison.
      await booted.services.scans.idle();
      return takeSnapshot(ds, { ...scope, folders: [dataDir, ...(scope.folders ?? [])] });
    },
  };
  return {
    url: booted.app.url,
    ds,
    config,
    booted,
    db,
    dataDir,
    token,
    as: (role) => new GraphQLClient(booted.app.url, role ? token(role) : null, {}, state),
    snapshot: state.snapshot,
    countQueries: async (fn) => {
      recording = [];
      try {
        await fn();
        return { count: recording.length, statements: recording };
      } finally {
        recording = null;
      }
    },
    close: async () => {
      await booted.close();
      if (ownsDatabase) await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
