import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** Secrets are write-only: what a client reads back is "****" plus at most the last 4 characters. */
export function maskSecret(secret: string | null | undefined): string | null {
  if (secret == null || secret === "") return null;
  const tail = secret.length >= 12 ? secret.slice(-4) : "";
  return `****${tail}`;
}

const SEALED_PREFIX = "v2:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One key of SECRETS_ENCRYPTION_KEYS: an id (named in every value it seals) and 32 bytes. */
export interface SecretKey {
  id: string;
  key: Buffer;
}

/** The key id `auth` stands for: derived from the server's auth secret, so nothing needs setting up. */
export function authDerivedKey(authSecret: string): SecretKey {
  return { id: "auth", key: createHash("sha256").update(authSecret, "utf8").update("\0secrets-at-rest/v2").digest() };
}

export class SecretKeyError extends Error {}

/**
 * AES-256-GCM for secrets the server must read back (registry tokens, Reservoir and S3 secret
 * keys, API key pair secrets). A sealed value is `v2:<key id>:<base64url(iv | tag | ciphertext)>`;
 * `purpose` (the table and column, and for key pairs the access key) is bound as associated
 * data, so a value copied to another column or row does not open. The first key seals; the
 * others only open, until every value is re-sealed with the first (at start-up): that is key
 * rotation.
 */
export class SecretKeyring {
  private readonly byId: Map<string, Buffer>;

  constructor(readonly keys: readonly SecretKey[]) {
    if (keys.length === 0) throw new SecretKeyError("a keyring needs at least one key");
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentId(): string {
    return this.keys[0].id;
  }

  /**
   * Whether a stored value claims to be sealed (the `v2:` prefix), whatever key it names: enough
   * once the SealSecrets migration has run, since a column's CHECK then refuses anything else,
   * and a value sealed with a key no longer listed must stop the start, not be taken as clear.
   */
  static isSealed(value: string): boolean {
    return value.startsWith(SEALED_PREFIX);
  }

  /**
   * Whether a value from before sealing is one of this keyring's sealed values: `v2:`, a key id
   * the keyring lists, canonical base64url of at least an iv and a tag, and it opens for
   * `purpose`. A secret in clear that merely starts with `v2:` is none of that.
   */
  holdsSealed(value: string, purpose: string): boolean {
    const match = /^v2:([^:]+):([A-Za-z0-9_-]+)$/.exec(value);
    if (!match || !this.byId.has(match[1])) return false;
    const raw = Buffer.from(match[2], "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES || raw.toString("base64url") !== match[2]) return false;
    try {
      this.open(value, purpose);
      return true;
    } catch {
      return false;
    }
  }

  /** The id of the key a sealed value names. */
  static keyIdOf(value: string): string {
    return value.slice(SEALED_PREFIX.length).split(":")[0];
  }

  seal(plaintext: string, purpose: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(purpose, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${SEALED_PREFIX}${id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  /** Throws a SecretKeyError naming the key when the value cannot be opened. */
  open(sealed: string, purpose: string): string {
    if (!SecretKeyring.isSealed(sealed)) throw new SecretKeyError(`a value of ${purpose} is not sealed`);
    const [id, payload] = sealed.slice(SEALED_PREFIX.length).split(":");
    const key = this.byId.get(id);
    if (!key) throw new SecretKeyError(`a value of ${purpose} is sealed with key "${id}", which SECRETS_ENCRYPTION_KEYS does not list (keys: ${[...this.byId.keys()].join(", ")})`);
    const raw = Buffer.from(payload ?? "", "base64url");
    try {
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error("truncated");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(purpose, "utf8"));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretKeyError(`a value of ${purpose} does not open with key "${id}": the key is not the one it was sealed with, or the value was altered`);
    }
  }
}

/*
 * The server's keyring, installed once at start-up (bootCore) before the migrations run: column
 * transformers and row mappers, which have no other way to reach configuration, read it here.
 */
let installed: SecretKeyring | null = null;

export function installSecretKeyring(keyring: SecretKeyring): void {
  installed = keyring;
}

export function secretKeyring(): SecretKeyring {
  if (!installed) throw new SecretKeyError("no secret keyring is installed: the server installs it at start-up (SECRETS_ENCRYPTION_KEYS)");
  return installed;
}

/** Seals a secret for `purpose` with the installed keyring; null stays null. */
export function sealSecret(plaintext: string, purpose: string): string;
export function sealSecret(plaintext: string | null, purpose: string): string | null;
export function sealSecret(plaintext: string | null, purpose: string): string | null {
  return plaintext == null ? null : secretKeyring().seal(plaintext, purpose);
}

/** Opens a secret sealed for `purpose`; null stays null. */
export function openSecret(sealed: string, purpose: string): string;
export function openSecret(sealed: string | null, purpose: string): string | null;
export function openSecret(sealed: string | null, purpose: string): string | null {
  return sealed == null ? null : secretKeyring().open(sealed, purpose);
}

/**
 * A TypeORM column transformer: plaintext in the entity, sealed in the row. The entity only ever
 * holds plaintext, so everything is sealed, a client's secret that happens to start "v2:" too.
 */
export function sealedColumn(purpose: string) {
  return {
    to: (value: string | null | undefined) => (value == null ? value : sealSecret(value, purpose)),
    from: (value: string | null) => openSecret(value, purpose),
  };
}

export const S3_SECRET_PURPOSE = "object_storages.secret_key";

/** The CHECK of a sealed column (SealSecrets migration; the entities name it with @Check). */
export function sealedCheck(column: string): string {
  return `"${column}" IS NULL OR "${column}" LIKE 'v2:%'`;
}

export const KEYPAIR_SECRET_PURPOSE = "api_keypairs.secret_key_encrypted";

/** A key pair's secret is bound to its access key too: moved to another key pair, it does not open. */
export function keypairSecretPurpose(accessKey: string): string {
  return `${KEYPAIR_SECRET_PURPOSE}:${accessKey}`;
}

export interface SealedColumn {
  table: string;
  column: string;
  /** The column that names the row. */
  key: string;
  purpose: string;
  /** The purpose of a row's value: `purpose`, or for key pairs `purpose:<access key>`. */
  purposeOf(rowKey: string): string;
}

const column = (table: string, name: string): SealedColumn => ({ table, column: name, key: "id", purpose: `${table}.${name}`, purposeOf: () => `${table}.${name}` });

/** Every sealed column: re-sealed at start-up with the current key (src/boot/secrets.ts). */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  column("huggingface_registries", "token"),
  column("reservoir_registries", "secret_key"),
  column("object_storages", "secret_key"),
  { table: "api_keypairs", column: "secret_key_encrypted", key: "access_key", purpose: KEYPAIR_SECRET_PURPOSE, purposeOf: keypairSecretPurpose },
];
