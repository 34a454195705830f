import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Crash accounting counts progress in bytes kept (verified in staging, in partial files a crash
 * left to resume, or placed), not in files verified: a model of large files moves gigabytes
 * between crashes without finishing one. The old marks counted files and mean nothing in bytes.
 */
export class CrashBytes1795790000000 implements MigrationInterface {
  name = "CrashBytes1795790000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ALTER COLUMN "import_crash_mark" TYPE bigint USING NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ALTER COLUMN "import_crash_mark" TYPE integer USING NULL`);
  }
}
