import type { Logger as TypeOrmLogger } from "typeorm";
import type { Logger } from "../common/logger";

/**
 * Sees every SQL statement TypeORM sends: logged at debug level, and passed to an optional
 * observer (tests count statements per request with it).
 */
export class QueryObserver implements TypeOrmLogger {
  constructor(private readonly logger: Logger, private readonly observe?: (sql: string) => void) {}
  logQuery(query: string, parameters?: unknown[]) {
    this.observe?.(query);
    this.logger.debug("sql", { query, parameters });
  }
  logQueryError(error: string | Error, query: string) {
    this.logger.debug("sql failed", { query, error: String(error) });
  }
  logQuerySlow(time: number, query: string) {
    this.logger.warn("slow sql", { time, query });
  }
  logSchemaBuild() {}
  logMigration(message: string) {
    this.logger.info(message);
  }
  log(level: "log" | "info" | "warn", message: unknown) {
    if (level === "warn") this.logger.warn(String(message));
  }
}
