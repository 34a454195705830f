import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The box key pair secrets were sealed with before they joined the keyring of
 * SECRETS_ENCRYPTION_KEYS (`v1.<base64url(iv | tag | ciphertext)>`): the SealKeypairSecrets
 * migration opens it to re-seal, and its down seals with it again. Its key is derived from the
 * server's auth secret and a label, so it does not rotate.
 *
 * `context` is bound as associated data (e.g. the access key), so a sealed value copied to
 * another row does not open there.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(serverSecret: string, label: string) {
    if (!serverSecret) throw new Error("SecretBox needs a non-empty server secret");
    this.key = createHash("sha256").update(serverSecret, "utf8").update("\0").update(label, "utf8").digest();
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  /** Throws when the value was not sealed by this box for this context. */
  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split(".");
    if (version !== VERSION || !payload) throw new Error("unknown sealed-secret format");
    const raw = Buffer.from(payload, "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error("sealed secret is truncated");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  }
}

/** The label of the key pair secrets' box. */
export const KEYPAIR_BOX_LABEL = "api-keypair-secret/v1";

/*
 * The migration needs the auth secret's box and has no other way to reach configuration: the
 * server installs it at start-up, next to the keyring (bootCore).
 */
let installedBox: SecretBox | null = null;

export function installKeypairBox(authSecret: string): void {
  installedBox = new SecretBox(authSecret, KEYPAIR_BOX_LABEL);
}

export function keypairBox(): SecretBox {
  if (!installedBox) throw new Error("no key pair box is installed: the server installs it at start-up, from its auth secret");
  return installedBox;
}
