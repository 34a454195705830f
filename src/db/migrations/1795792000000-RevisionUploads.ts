import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Uploads into a revision: one row per upload URL. Its id is the URL's nonce, claimed once
 * (`started_at`) in one statement, so a URL uploads at most once whichever process serves it.
 * A finished upload keeps the SHA-256 and size of what it received; its bytes wait under
 * `.uploads/<revision id>/<upload id>` until an import verifies them again and publishes them.
 * And whether a running import publishes the revision's uploads rather than fetching upstream.
 */
export class RevisionUploads1795792000000 implements MigrationInterface {
  name = "RevisionUploads1795792000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "artifact_revision_uploads" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "revision_id" uuid NOT NULL,
      "namespace_id" uuid NOT NULL,
      "path" text NOT NULL,
      "created_by" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "started_at" TIMESTAMP WITH TIME ZONE,
      "completed_at" TIMESTAMP WITH TIME ZONE,
      "size" bigint,
      "sha256" character(64),
      CONSTRAINT "artifact_revision_uploads_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "artifact_revision_uploads_size_check" CHECK ("size" IS NULL OR "size" >= 0),
      CONSTRAINT "artifact_revision_uploads_completed_check" CHECK ("completed_at" IS NULL OR ("started_at" IS NOT NULL AND "size" IS NOT NULL AND "sha256" IS NOT NULL)),
      CONSTRAINT "artifact_revision_uploads_revision_fk" FOREIGN KEY ("revision_id") REFERENCES "artifact_revisions"("id") ON DELETE CASCADE,
      CONSTRAINT "artifact_revision_uploads_namespace_fk" FOREIGN KEY ("namespace_id") REFERENCES "storage_namespaces"("id") ON DELETE RESTRICT
    )`);
    // One finished upload per path: a later one replaces it.
    await queryRunner.query(`CREATE UNIQUE INDEX "artifact_revision_uploads_path_key" ON "artifact_revision_uploads" ("revision_id", "path") WHERE "completed_at" IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD "import_uploads" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP COLUMN "import_uploads"`);
    await queryRunner.query(`DROP TABLE "artifact_revision_uploads"`);
  }
}
