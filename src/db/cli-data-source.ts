// For the TypeORM CLI's migration:generate, which wants one DataSource per file. Migrations are
// applied by a server or worker as it starts: SealSecrets needs the keyring only they install.
import { createDataSource } from "./data-source";

export default createDataSource({ url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/artifact_registry_dev" });
