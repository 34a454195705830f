// For the TypeORM CLI (migration:generate / migration:run), which wants one DataSource per file.
import { createDataSource } from "./data-source";

export default createDataSource({ url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/artifact_registry_dev" });
