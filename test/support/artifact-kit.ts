import { startDomainKit, type DomainKit } from "./schema-kit";

type TestKitModule = typeof import("./testkit");

/**
 * The artifact and revision tests run against the whole server (testkit.ts) by default;
 * ARTIFACT_KIT=schema runs them against the two domains' resolvers alone, in process.
 */
export async function startArtifactKit(): Promise<DomainKit> {
  if (process.env.ARTIFACT_KIT === "schema") return startDomainKit();
  // Required lazily so that the in-process mode does not need the rest of the server to load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTestKit }: TestKitModule = require("./testkit");
  return startTestKit();
}
