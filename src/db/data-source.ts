import "reflect-metadata";
import { DataSource, type Logger } from "typeorm";
import { ENTITIES } from "./entities";
import { MIGRATIONS } from "./migrations";
import { pgTypes } from "./timestamptz";

export interface DataSourceOptions {
  url: string;
  logger?: Logger;
  poolSize?: number;
}

/** The schema is owned by migrations; `synchronize` is never used. */
export function createDataSource({ url, logger, poolSize = 10 }: DataSourceOptions): DataSource {
  return new DataSource({
    type: "postgres",
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logger,
    logging: logger ? "all" : false,
    extra: { max: poolSize, types: pgTypes },
  });
}
