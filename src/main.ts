import "reflect-metadata";
import { signToken } from "./auth/jwt";
import { Role } from "./common/enums";
import { createLogger } from "./common/logger";
import { describeStartupFailure } from "./common/startup-error";
import { ConfigError, loadConfig } from "./config/config";
import { boot, type Booted } from "./server/boot";

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

  logger.info(`artifact registry listening on ${booted.app.url}/graphql`);
  if (!config.jwtSecret) {
    // Like Jupyter: a new user can query at once with the printed token.
    const token = signToken({ sub: "local-superadmin", role: Role.SUPERADMIN }, booted.authSecret, "30d");
    process.stdout.write(
      `\n  Artifact registry is up: ${booted.config.publicUrl}/graphql\n` +
      `  Superadmin token (valid 30 days; mint more with \`npm run token -- --role user\`):\n\n  ${token}\n\n`,
    );
  }
}

main().catch((error) => {
  console.error(`artifact registry failed to start: ${describeStartupFailure(error)}`);
  process.exit(1);
});
