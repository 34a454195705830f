import { createTestDatabase, type TestDatabase } from "./database";
import { startTestKit, type TestKit } from "./testkit";

/**
 * One database that outlives a test file's servers: each `withKit` boots a server on it with
 * the file's environment plus `env` (a restart with other settings), runs `run`, and closes it.
 */
export function serverRestarts(baseEnv: Record<string, string>) {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  return async function withKit<T>(env: Record<string, string>, run: (kit: TestKit) => Promise<T>): Promise<T> {
    const kit = await startTestKit({ IMPORT_WORKER: "false", ...baseEnv, ...env }, { database: db });
    try {
      return await run(kit);
    } finally {
      await kit.close();
    }
  };
}
