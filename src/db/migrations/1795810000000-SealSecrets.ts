import type { MigrationInterface, QueryRunner } from "typeorm";
import { SEALED_COLUMNS, sealedCheck, SecretKeyring, secretKeyring } from "../../common/secrets";

/** The columns this migration sealed; key pair secrets moved to the keyring later (SealKeypairSecrets). */
const COLUMNS = SEALED_COLUMNS.filter((c) => c.table !== "api_keypairs");

/**
 * Seals the secrets stored in clear (Hugging Face registry tokens, Reservoir and S3 secret keys)
 * with the current key of SECRETS_ENCRYPTION_KEYS; down opens them again. Both need the keyring
 * the server installs at start-up, so run them through the server (or its boot), not bare.
 */
export class SealSecrets1795810000000 implements MigrationInterface {
  name = "SealSecrets1795810000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const { table, column, key, purpose } of COLUMNS) {
      const rows: Array<{ id: string; value: string }> = await queryRunner.query(
        `SELECT "${key}" AS id, "${column}" AS value FROM "${table}" WHERE "${column}" IS NOT NULL`,
      );
      for (const row of rows) {
        // Only a value that opens is sealed; a secret in clear may start with "v2:" as well.
        if (secretKeyring().holdsSealed(row.value, purpose)) continue;
        await queryRunner.query(`UPDATE "${table}" SET "${column}" = $1 WHERE "${key}" = $2`, [secretKeyring().seal(row.value, purpose), row.id]);
      }
      // From now on the database itself refuses a secret in clear.
      await queryRunner.query(`ALTER TABLE "${table}" ADD CONSTRAINT "${table}_${column}_sealed_check" CHECK (${sealedCheck(column)})`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const { table, column, key, purpose } of COLUMNS) {
      await queryRunner.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${table}_${column}_sealed_check"`);
      const rows: Array<{ id: string; value: string }> = await queryRunner.query(
        `SELECT "${key}" AS id, "${column}" AS value FROM "${table}" WHERE "${column}" LIKE 'v2:%'`,
      );
      for (const row of rows) {
        if (!SecretKeyring.isSealed(row.value)) continue;
        await queryRunner.query(`UPDATE "${table}" SET "${column}" = $1 WHERE "${key}" = $2`, [secretKeyring().open(row.value, purpose), row.id]);
      }
    }
  }
}
