import { MigrationInterface, QueryRunner } from "typeorm";

// The first schema: generated from the entities, then edited to use gen_random_uuid() (built in since PostgreSQL 13; uuid-ossp needs a superuser).

export class Initial1795744821474 implements MigrationInterface {
    name = 'Initial1795744821474'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "artifact_registries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(256) NOT NULL, "type" character varying(16) NOT NULL, "url" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_e08cd69ece5ed38b92a76c5bdde" UNIQUE ("name"), CONSTRAINT "artifact_registries_type_check" CHECK ("type" IN ('HUGGINGFACE', 'RESERVOIR')), CONSTRAINT "PK_c9c7f0b6ac9b5d23db7c3899654" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "artifacts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(512) NOT NULL, "type" character varying(16) NOT NULL, "description" text, "registry_id" uuid NOT NULL, "source_name" character varying(256), "source_url" text, "readonly" boolean NOT NULL DEFAULT true, "extra" jsonb, "availability" character varying(16) NOT NULL DEFAULT 'ALIVE', "deleted_at" TIMESTAMP WITH TIME ZONE, "scanned_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "artifacts_registry_type_name_key" UNIQUE ("registry_id", "type", "name"), CONSTRAINT "artifacts_availability_check" CHECK ("availability" IN ('ALIVE', 'DELETED')), CONSTRAINT "artifacts_type_check" CHECK ("type" IN ('MODEL', 'PACKAGE', 'IMAGE')), CONSTRAINT "PK_6516bbed3c129918e05c5012edb" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "artifacts_name_idx" ON "artifacts"  ("name") `);
        await queryRunner.query(`CREATE TABLE "api_keypairs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "access_key" character varying(64) NOT NULL, "secret_key_encrypted" text NOT NULL, "role" character varying(16) NOT NULL, "description" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "UQ_a54fdf93f6001c4998a03d94642" UNIQUE ("access_key"), CONSTRAINT "api_keypairs_role_check" CHECK ("role" IN ('SUPERADMIN', 'ADMIN', 'USER')), CONSTRAINT "PK_ee8a86a3ccb8ebee42f4b35970c" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "huggingface_registries" ("id" uuid NOT NULL, "url" text NOT NULL, "token" text, CONSTRAINT "PK_c4fea33f7ea9468c781625b9941" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "reservoir_registries" ("id" uuid NOT NULL, "endpoint" text NOT NULL, "access_key" character varying(256) NOT NULL, "secret_key" text NOT NULL, "api_version" character varying(32) NOT NULL, CONSTRAINT "PK_5d6c4b2348215b6f41a9785eb58" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "artifact_revisions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "artifact_id" uuid NOT NULL, "version" character varying(512) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'SCANNED', "remote_status" character varying(16), "digest" character varying(128), "latest_upstream_digest" character varying(128), "readme" text, "size" bigint, "last_error" text, "verification_result" jsonb, "import_progress" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "artifact_revisions_artifact_version_key" UNIQUE ("artifact_id", "version"), CONSTRAINT "artifact_revisions_size_check" CHECK ("size" IS NULL OR "size" >= 0), CONSTRAINT "artifact_revisions_remote_status_check" CHECK ("remote_status" IS NULL OR "remote_status" IN ('SCANNED', 'AVAILABLE', 'FAILED')), CONSTRAINT "artifact_revisions_status_check" CHECK ("status" IN ('SCANNED', 'PULLING', 'PULLED', 'VERIFYING', 'NEEDS_APPROVAL', 'AVAILABLE', 'FAILED', 'REJECTED')), CONSTRAINT "PK_bb06246baadf32abff2417d42d1" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "artifact_revisions_status_idx" ON "artifact_revisions"  ("status") `);
        await queryRunner.query(`CREATE TABLE "artifact_revision_files" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "revision_id" uuid NOT NULL, "path" text NOT NULL, "size" bigint NOT NULL, "sha256" character(64), "upstream_oid" character varying(128), "storage_key" text, CONSTRAINT "artifact_revision_files_revision_path_key" UNIQUE ("revision_id", "path"), CONSTRAINT "artifact_revision_files_size_check" CHECK ("size" >= 0), CONSTRAINT "PK_1288d795a4d7fa712c5c2ac3186" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "artifact_revision_status_history" ("id" BIGSERIAL NOT NULL, "revision_id" uuid NOT NULL, "from_status" character varying(16), "to_status" character varying(16) NOT NULL, "actor" character varying(256) NOT NULL, "reason" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "status_history_to_check" CHECK ("to_status" IN ('SCANNED', 'PULLING', 'PULLED', 'VERIFYING', 'NEEDS_APPROVAL', 'AVAILABLE', 'FAILED', 'REJECTED')), CONSTRAINT "PK_00e4e32a9872b9817dbb9b00926" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "status_history_revision_idx" ON "artifact_revision_status_history"  ("revision_id", "id") `);
        await queryRunner.query(`CREATE TABLE "object_storages" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(256) NOT NULL, "host" character varying(256) NOT NULL, "access_key" character varying(256) NOT NULL, "secret_key" text NOT NULL, "endpoint" text NOT NULL, "region" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_80d30dd0c0801f95b74a8b47a8c" UNIQUE ("name"), CONSTRAINT "PK_537cc120110810af5ecc5c69edd" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "vfs_storages" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(256) NOT NULL, "host" character varying(256) NOT NULL, "base_path" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_e708fd04a264b3dcb4513fdc1fc" UNIQUE ("name"), CONSTRAINT "PK_9e8a7cb08ce85ec84f1d6a2a706" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "storage_namespaces" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "object_storage_id" uuid, "vfs_storage_id" uuid, "namespace" character varying(256) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "storage_namespaces_one_storage_check" CHECK (num_nonnulls("object_storage_id", "vfs_storage_id") = 1), CONSTRAINT "PK_5f72a0e80da7b051242d2cf01ac" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "storage_namespaces_vfs_ns_key" ON "storage_namespaces"  ("vfs_storage_id", "namespace") WHERE "vfs_storage_id" IS NOT NULL`);
        await queryRunner.query(`CREATE UNIQUE INDEX "storage_namespaces_object_ns_key" ON "storage_namespaces"  ("object_storage_id", "namespace") WHERE "object_storage_id" IS NOT NULL`);
        await queryRunner.query(`CREATE TABLE "artifact_revision_namespaces" ("revision_id" uuid NOT NULL, "namespace_id" uuid NOT NULL, CONSTRAINT "PK_9e8d35a3f5c39e8310fa44f3b8b" PRIMARY KEY ("revision_id", "namespace_id"))`);
        await queryRunner.query(`ALTER TABLE "artifacts" ADD CONSTRAINT "FK_42af46b4c6b6f057c170af530b8" FOREIGN KEY ("registry_id") REFERENCES "artifact_registries"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "huggingface_registries" ADD CONSTRAINT "FK_c4fea33f7ea9468c781625b9941" FOREIGN KEY ("id") REFERENCES "artifact_registries"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "reservoir_registries" ADD CONSTRAINT "FK_5d6c4b2348215b6f41a9785eb58" FOREIGN KEY ("id") REFERENCES "artifact_registries"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "artifact_revisions" ADD CONSTRAINT "FK_78dd22b75d535456ca4bf322dbf" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_files" ADD CONSTRAINT "FK_97250c21bdeb97c415ead713168" FOREIGN KEY ("revision_id") REFERENCES "artifact_revisions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_status_history" ADD CONSTRAINT "FK_c63562ad4d257d5f809bac5cfea" FOREIGN KEY ("revision_id") REFERENCES "artifact_revisions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "storage_namespaces" ADD CONSTRAINT "FK_c5d34e46004a5a19729d6188618" FOREIGN KEY ("object_storage_id") REFERENCES "object_storages"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "storage_namespaces" ADD CONSTRAINT "FK_515c052a257d9de2123f211c5c6" FOREIGN KEY ("vfs_storage_id") REFERENCES "vfs_storages"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_namespaces" ADD CONSTRAINT "FK_88d0be6f0d5e04c45a3375aecf1" FOREIGN KEY ("revision_id") REFERENCES "artifact_revisions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_namespaces" ADD CONSTRAINT "FK_ceda911f3eadbd9c721dcafe10e" FOREIGN KEY ("namespace_id") REFERENCES "storage_namespaces"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "artifact_revision_namespaces" DROP CONSTRAINT "FK_ceda911f3eadbd9c721dcafe10e"`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_namespaces" DROP CONSTRAINT "FK_88d0be6f0d5e04c45a3375aecf1"`);
        await queryRunner.query(`ALTER TABLE "storage_namespaces" DROP CONSTRAINT "FK_515c052a257d9de2123f211c5c6"`);
        await queryRunner.query(`ALTER TABLE "storage_namespaces" DROP CONSTRAINT "FK_c5d34e46004a5a19729d6188618"`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_status_history" DROP CONSTRAINT "FK_c63562ad4d257d5f809bac5cfea"`);
        await queryRunner.query(`ALTER TABLE "artifact_revision_files" DROP CONSTRAINT "FK_97250c21bdeb97c415ead713168"`);
        await queryRunner.query(`ALTER TABLE "artifact_revisions" DROP CONSTRAINT "FK_78dd22b75d535456ca4bf322dbf"`);
        await queryRunner.query(`ALTER TABLE "reservoir_registries" DROP CONSTRAINT "FK_5d6c4b2348215b6f41a9785eb58"`);
        await queryRunner.query(`ALTER TABLE "huggingface_registries" DROP CONSTRAINT "FK_c4fea33f7ea9468c781625b9941"`);
        await queryRunner.query(`ALTER TABLE "artifacts" DROP CONSTRAINT "FK_42af46b4c6b6f057c170af530b8"`);
        await queryRunner.query(`DROP TABLE "artifact_revision_namespaces"`);
        await queryRunner.query(`DROP INDEX "public"."storage_namespaces_object_ns_key"`);
        await queryRunner.query(`DROP INDEX "public"."storage_namespaces_vfs_ns_key"`);
        await queryRunner.query(`DROP TABLE "storage_namespaces"`);
        await queryRunner.query(`DROP TABLE "vfs_storages"`);
        await queryRunner.query(`DROP TABLE "object_storages"`);
        await queryRunner.query(`DROP INDEX "public"."status_history_revision_idx"`);
        await queryRunner.query(`DROP TABLE "artifact_revision_status_history"`);
        await queryRunner.query(`DROP TABLE "artifact_revision_files"`);
        await queryRunner.query(`DROP INDEX "public"."artifact_revisions_status_idx"`);
        await queryRunner.query(`DROP TABLE "artifact_revisions"`);
        await queryRunner.query(`DROP TABLE "reservoir_registries"`);
        await queryRunner.query(`DROP TABLE "huggingface_registries"`);
        await queryRunner.query(`DROP TABLE "api_keypairs"`);
        await queryRunner.query(`DROP INDEX "public"."artifacts_name_idx"`);
        await queryRunner.query(`DROP TABLE "artifacts"`);
        await queryRunner.query(`DROP TABLE "artifact_registries"`);
    }

}
