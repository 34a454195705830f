import type { DataSource } from "typeorm";
import { authDerivedKey, SEALED_COLUMNS, SecretKeyError, SecretKeyring } from "../common/secrets";
import type { Logger } from "../common/logger";
import { StartupError } from "../common/startup-error";
import type { Config } from "../config/config";

/** SECRETS_ENCRYPTION_KEYS as a keyring; `auth` is the key derived from the auth secret. */
export function buildKeyring(config: Pick<Config, "secretKeys">, authSecret: string): SecretKeyring {
  return new SecretKeyring(config.secretKeys.map((k) => (k.key ? { id: k.id, key: k.key } : authDerivedKey(authSecret))));
}

/**
 * Opens every sealed secret, so a missing or wrong key stops the start with the column named
 * rather than failing a scan or an import later, and re-seals with the current key whatever
 * another key sealed (rotation). Returns how many values it re-sealed.
 */
export async function resealSecrets(ds: DataSource, keyring: SecretKeyring, logger: Logger): Promise<number> {
  let resealed = 0;
  for (const { table, column, key, purposeOf } of SEALED_COLUMNS) {
    const rows: Array<{ id: string; value: string }> = await ds.query(`SELECT "${key}" AS id, "${column}" AS value FROM "${table}" WHERE "${column}" IS NOT NULL`);
    for (const row of rows) {
      const purpose = purposeOf(row.id);
      let plaintext: string;
      try {
        plaintext = SecretKeyring.isSealed(row.value) ? keyring.open(row.value, purpose) : row.value;
      } catch (error) {
        if (!(error instanceof SecretKeyError)) throw error;
        throw new StartupError(`cannot open the secrets stored in the database: ${error.message} (${table} ${row.id}); list every key still in use in SECRETS_ENCRYPTION_KEYS, the current one first`, { cause: error });
      }
      if (SecretKeyring.isSealed(row.value) && SecretKeyring.keyIdOf(row.value) === keyring.currentId) continue;
      // Compare-and-set: another process re-sealing the same row at once leaves one valid value either way.
      const [, changed] = await ds.query(`UPDATE "${table}" SET "${column}" = $1 WHERE "${key}" = $2 AND "${column}" = $3`, [keyring.seal(plaintext, purpose), row.id, row.value]);
      resealed += Number(changed) || 0;
    }
  }
  if (resealed) logger.info(`re-sealed ${resealed} stored secret(s) with key "${keyring.currentId}"`);
  return resealed;
}
