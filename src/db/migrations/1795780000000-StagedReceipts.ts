import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * What the storage's staging area answered for each verified file, so any process can publish
 * it: on S3, a large file stays a pending multipart upload at its final key (the receipt names
 * the upload) and is completed in PULLED instead of copied out of a staging folder. And whether
 * the file was published, so a resumed PULLED step knows what it need not check again.
 */
export class StagedReceipts1795780000000 implements MigrationInterface {
  name = "StagedReceipts1795780000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_import_files" ADD "staged_receipt" text`);
    await queryRunner.query(`ALTER TABLE "artifact_import_files" ADD "placed" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_import_files" DROP COLUMN "placed"`);
    await queryRunner.query(`ALTER TABLE "artifact_import_files" DROP COLUMN "staged_receipt"`);
  }
}
