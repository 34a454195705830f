import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * More of what a running import pins: whether it may ask a Reservoir remote to import its copy
 * (a delegated import, so its retries may ask again), and how often it crashed its process in a
 * row without verifying another file, so that recovery stops restarting an import that never
 * gets further.
 */
export class ImportOptions1795770000000 implements MigrationInterface {
  name = "ImportOptions1795770000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_delegate" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_crashes" integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_crash_mark" integer`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_crash_mark"`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_crashes"`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_delegate"`);
  }
}
