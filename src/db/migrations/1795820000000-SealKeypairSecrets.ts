import { randomBytes } from "node:crypto";
import type { MigrationInterface, QueryRunner } from "typeorm";
import { keypairSecretPurpose, sealedCheck, SecretKeyring, secretKeyring } from "../../common/secrets";
import { keypairBox } from "../../keypair/secret-box";

/**
 * Re-seals API key pair secrets, until now in a box of their own derived from the auth secret
 * (keypair/secret-box.ts), with the current key of SECRETS_ENCRYPTION_KEYS, so that rotation
 * covers them; down puts them back in the box. Both need what the server installs at start-up.
 */
export class SealKeypairSecrets1795820000000 implements MigrationInterface {
  name = "SealKeypairSecrets1795820000000";

  public async up(queryRunner: QueryRunner): Promise<void> {
    const rows: Array<{ id: string; value: string }> = await queryRunner.query(
      `SELECT access_key AS id, secret_key_encrypted AS value FROM api_keypairs WHERE secret_key_encrypted NOT LIKE 'v2:%'`,
    );
    for (const row of rows) {
      let secret: string;
      try {
        secret = keypairBox().open(row.value, row.id);
      } catch {
        // The auth secret changed since it was sealed: the key pair could not be used before
        // either. Revoked, with a secret nobody knows, rather than a value that is not sealed.
        await queryRunner.query(`UPDATE api_keypairs SET revoked_at = COALESCE(revoked_at, now()) WHERE access_key = $1`, [row.id]);
        secret = randomBytes(30).toString("base64url");
      }
      await queryRunner.query(`UPDATE api_keypairs SET secret_key_encrypted = $1 WHERE access_key = $2`, [secretKeyring().seal(secret, keypairSecretPurpose(row.id)), row.id]);
    }
    await queryRunner.query(`ALTER TABLE api_keypairs ADD CONSTRAINT "api_keypairs_secret_key_encrypted_sealed_check" CHECK (${sealedCheck("secret_key_encrypted")})`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE api_keypairs DROP CONSTRAINT "api_keypairs_secret_key_encrypted_sealed_check"`);
    const rows: Array<{ id: string; value: string }> = await queryRunner.query(`SELECT access_key AS id, secret_key_encrypted AS value FROM api_keypairs`);
    for (const row of rows) {
      if (!SecretKeyring.isSealed(row.value)) continue;
      const secret = secretKeyring().open(row.value, keypairSecretPurpose(row.id));
      await queryRunner.query(`UPDATE api_keypairs SET secret_key_encrypted = $1 WHERE access_key = $2`, [keypairBox().seal(secret, row.id), row.id]);
    }
  }
}
