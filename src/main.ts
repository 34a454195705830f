// First: it may replace the process before anything else loads.
import "./boot/reexec";
import "reflect-metadata";
import { defaultTokenLifetime } from "./auth/jwt";
import { tuneHeapForStreaming } from "./boot/heap";
import { Role } from "./common/enums";
import { createLogger } from "./common/logger";
import { describeStartupFailure } from "./common/startup-error";
import { ConfigError, loadConfig } from "./config/config";
import { boot, type Booted } from "./server/boot";

tuneHeapForStreaming();

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  // Before anything starts: a signal while starting exits at once, and the exit stops the embedded
  // PostgreSQL, which runs in a session of its own and would otherwise outlive us.
  let booted: Booted | null = null;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!booted) process.exit(1);
    logger.info(`${signal} received: draining connections and shutting down`);
    booted.close().then(
      () => process.exit(0),
      (error) => {
        logger.error("shutdown failed", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // A closed terminal.
  process.on("SIGHUP", () => shutdown("SIGHUP"));
  booted = await boot(config, { logger });

  logger.info(`artifact registry listening on ${booted.app.url}/graphql; console at ${booted.app.url}/`);
  if (!config.jwtSecret) {
    // Like Jupyter: a new user signs in at once with the printed link. The token rides in the
    // fragment, which browsers never send to a server or a proxy log, and this is its only line.
    const lifetime = defaultTokenLifetime(config.auth.maxTokenTtlSeconds);
    const token = booted.services.tokens.sign({ sub: "local-superadmin", role: Role.SUPERADMIN }, lifetime);
    const publicUrl = booted.config.publicUrl;
    process.stdout.write(
      `\n  Artifact registry is up: ${publicUrl}/graphql\n` +
      `  Console, signed in as superadmin (valid ${describeLifetime(lifetime)}; mint more tokens with \`npm run token -- --role user\`):\n\n` +
      `  ${publicUrl}/#token=${token}\n\n`,
    );
  }
}

function describeLifetime(seconds: number): string {
  return seconds % 86_400 === 0 ? `${seconds / 86_400} days` : seconds % 3600 === 0 ? `${seconds / 3600} hours` : `${seconds} seconds`;
}

main().catch((error) => {
  console.error(`artifact registry failed to start: ${describeStartupFailure(error)}`);
  process.exit(1);
});
