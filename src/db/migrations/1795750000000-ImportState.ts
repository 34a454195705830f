import type { MigrationInterface, QueryRunner } from "typeorm";

/** What a running import pins (its task, commit and target namespace) and which staged files are verified. */
export class ImportState1795750000000 implements MigrationInterface {
  name = "ImportState1795750000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_task_id" uuid`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_commit" character varying(128)`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_namespace_id" uuid`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD CONSTRAINT "artifact_revisions_import_namespace_fk" FOREIGN KEY ("import_namespace_id") REFERENCES "storage_namespaces"("id") ON DELETE RESTRICT`);
    await queryRunner.query(`ALTER TABLE "artifact_revision_files" ADD "staged_sha256" character(64)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revision_files" DROP COLUMN "staged_sha256"`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP CONSTRAINT "artifact_revisions_import_namespace_fk"`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_namespace_id"`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_commit"`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_task_id"`);
  }
}
