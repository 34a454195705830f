import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The manifest a running import works through, apart from the revision's published files: a
 * forced re-import of a moved branch fetches other files than the ones the revision still
 * serves, and those rows must stay as they are until the new files are verified.
 */
export class ImportManifest1795760000000 implements MigrationInterface {
  name = "ImportManifest1795760000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "artifact_import_files" (
      "revision_id" uuid NOT NULL,
      "path" text NOT NULL,
      "commit" character varying(128),
      "size" bigint NOT NULL,
      "sha256" character(64),
      "upstream_oid" character varying(128),
      "staged_sha256" character(64),
      CONSTRAINT "artifact_import_files_size_check" CHECK ("size" >= 0),
      CONSTRAINT "artifact_import_files_pkey" PRIMARY KEY ("revision_id", "path"),
      CONSTRAINT "artifact_import_files_revision_fk" FOREIGN KEY ("revision_id") REFERENCES "artifact_revisions"("id") ON DELETE CASCADE
    )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "artifact_import_files"`);
  }
}
