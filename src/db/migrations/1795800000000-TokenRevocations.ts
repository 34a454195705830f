import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Revoked tokens, per subject: a token of that subject issued before `not_before` is refused.
 * One row per subject; revoking again moves the instant forward.
 */
export class TokenRevocations1795800000000 implements MigrationInterface {
  name = "TokenRevocations1795800000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "token_revocations" (
      "subject" character varying(256) NOT NULL,
      "not_before" TIMESTAMP WITH TIME ZONE NOT NULL,
      "revoked_by" text NOT NULL,
      CONSTRAINT "token_revocations_pkey" PRIMARY KEY ("subject")
    )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "token_revocations"`);
  }
}
