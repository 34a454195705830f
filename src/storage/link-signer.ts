import { createHmac, timingSafeEqual } from "node:crypto";

/** A download of a stored object, or one upload (whose nonce, the link's key, is spent on use). */
export type LinkOp = "get" | "upload";

export interface LinkClaims {
  /** Identity of the store (e.g. the storage namespace id), so a link for one store is useless on another. */
  store: string;
  key: string;
  op: LinkOp;
  /** Expiry, unix seconds. The link is valid while now < exp. */
  exp: number;
}

export type LinkVerdict =
  | { ok: true; claims: LinkClaims }
  | { ok: false; reason: "malformed" | "bad-signature" | "expired" };

/** HMAC-SHA256 signatures for filesystem storage links and upload links. */
export class LinkSigner {
  private readonly secret: Buffer;

  /** `now` (milliseconds) dates links and checks them: tests move it rather than wait for a link to expire. */
  constructor(secret: string | Buffer, readonly now: () => number = Date.now) {
    this.secret = typeof secret === "string" ? Buffer.from(secret) : secret;
    if (this.secret.length < 16) throw new Error("LinkSigner secret must be at least 16 bytes");
  }

  sign(claims: LinkClaims): string {
    return this.mac(claims).toString("hex");
  }

  /** The only place a link is checked, so every caller gets the same rules. */
  verify(input: { store: unknown; key: unknown; op: unknown; exp: unknown; sig: unknown }, now = this.now()): LinkVerdict {
    const { store, key, op, sig } = input;
    const exp = typeof input.exp === "string" && /^\d{1,12}$/.test(input.exp) ? Number(input.exp) : input.exp;
    if (
      typeof store !== "string" ||
      typeof key !== "string" ||
      (op !== "get" && op !== "upload") ||
      typeof exp !== "number" ||
      !Number.isSafeInteger(exp) ||
      typeof sig !== "string" ||
      !/^[0-9a-f]{64}$/i.test(sig)
    ) {
      return { ok: false, reason: "malformed" };
    }
    const claims: LinkClaims = { store, key, op, exp };
    if (!timingSafeEqual(Buffer.from(sig, "hex"), this.mac(claims))) return { ok: false, reason: "bad-signature" };
    if (now >= exp * 1000) return { ok: false, reason: "expired" };
    return { ok: true, claims };
  }

  private mac({ store, key, op, exp }: LinkClaims): Buffer {
    // A JSON array is unambiguous whatever characters store or key contain.
    return createHmac("sha256", this.secret).update(JSON.stringify(["fs-link/v1", store, key, op, exp])).digest();
  }
}
