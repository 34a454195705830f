import { randomBytes, randomInt } from "node:crypto";
import jwt from "jsonwebtoken";
import { IsNull, type DataSource } from "typeorm";
import type { VerifiedToken } from "../auth/jwt";
import { systemClock, type Clock } from "../common/clock";
import type { EventBus } from "../events/event-bus";
import type { ConnectionShape } from "../common/connection.type";
import { listTable } from "../common/paging.util";
import { ApiKeypairRole, Role } from "../common/enums";
import { ERRORS } from "../common/errors";
import type { Logger } from "../common/logger";
import type { PagingArgs, PagingLimits } from "../common/paging";
import { parseId } from "../common/relay";
import { hydrate } from "../common/sql";
import { given } from "../common/validation";
import { ApiKeypairEntity } from "./api-keypair.entity";
import type { CreateApiKeypairInput } from "./keypair.inputs";
import { toApiKeypair, type ApiKeypair } from "./keypair.type";
import { keypairSecretPurpose, secretKeyring, type SecretKeyring } from "../common/secrets";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ACCESS_KEY_RANDOM_CHARS = 18;
const DESCRIPTION_MAX = 1024;

/** The contract: a client token's `exp` is at most 10 minutes ahead. */
export const MAX_CLIENT_TOKEN_LIFETIME_SECONDS = 600;
/** Clocks of client and server disagree a little; this much is forgiven on top. */
const CLOCK_SKEW_SECONDS = 30;
/** last_used_at is informational: at most one write per key pair per this interval. */
const LAST_USED_RESOLUTION = "30 seconds";

export function generateAccessKey(): string {
  let key = "AK";
  for (let i = 0; i < ACCESS_KEY_RANDOM_CHARS; i++) key += BASE32[randomInt(BASE32.length)];
  return key;
}

/** 40 URL-safe characters (240 bits). */
export function generateSecretKey(): string {
  return randomBytes(30).toString("base64url");
}

export interface KeypairServiceOptions {
  /** Seals key pair secrets: the server's keyring (SECRETS_ENCRYPTION_KEYS) unless given. */
  keyring?: SecretKeyring;
  limits: PagingLimits;
  logger?: Logger;
  /** Announces revocations, so every process closes the sockets the key pair opened. */
  events?: Pick<EventBus, "publishIn">;
  clock?: Clock;
}

/** API key pairs of machine clients, and verification of the JWTs they sign. */
export class KeypairService {
  constructor(private readonly ds: DataSource, private readonly options: KeypairServiceOptions) {}

  private get keyring(): SecretKeyring {
    return this.options.keyring ?? secretKeyring();
  }

  list(args: PagingArgs): Promise<ConnectionShape<ApiKeypair>> {
    return listTable({
      ds: this.ds, limits: this.options.limits, select: "k.*", from: "api_keypairs k", idExpr: "k.id",
      order: { expr: "k.created_at", cast: "timestamptz", direction: "ASC" },
    }, args, (row) => toApiKeypair(hydrate(this.ds, ApiKeypairEntity, row)));
  }

  /** The secret key is in the result and nowhere else: only its encrypted form is stored. */
  async create(input: CreateApiKeypairInput): Promise<{ keypair: ApiKeypairEntity; secretKey: string }> {
    if (!Object.values(ApiKeypairRole).includes(input.role)) throw ERRORS.badInput("role is not a valid ApiKeypairRole", { field: "role" });
    const description = given(input.description) && input.description !== "" ? input.description : null;
    if (description && description.length > DESCRIPTION_MAX) {
      throw ERRORS.badInput(`description may be at most ${DESCRIPTION_MAX} characters`, { field: "description" });
    }
    const accessKey = generateAccessKey();
    const secretKey = generateSecretKey();
    const repo = this.ds.getRepository(ApiKeypairEntity);
    const keypair = await repo.save(repo.create({
      accessKey,
      secretKeyEncrypted: this.keyring.seal(secretKey, keypairSecretPurpose(accessKey)),
      role: input.role,
      description,
      lastUsedAt: null,
      revokedAt: null,
    }));
    return { keypair, secretKey };
  }

  /** Idempotent: revoking a revoked key pair keeps its first revocation time. */
  async revoke(rawId: string): Promise<ApiKeypairEntity> {
    const id = parseId("ApiKeypair", rawId, "id");
    return this.ds.transaction(async (manager) => {
      const [rows] = await manager.query(`UPDATE api_keypairs SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *`, [id]);
      const [row] = rows as Record<string, unknown>[];
      if (!row) throw ERRORS.notFound("ApiKeypair", rawId);
      const keypair = hydrate(this.ds, ApiKeypairEntity, row);
      await this.options.events?.publishIn(manager, "auth.revoked", { kind: "keypair", subject: keypair.accessKey, notBefore: keypair.revokedAt!.toISOString() });
      return keypair;
    });
  }

  /**
   * Verifies a machine client's bearer token: HS256, signed with the secret key of the
   * non-revoked key pair whose access key is the token's `iss`, with an `exp` at most ten
   * minutes ahead (so a leaked token is short-lived). Anything else is UNAUTHENTICATED.
   */
  async verifyClientToken(token: string): Promise<VerifiedToken> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload !== "object" || decoded.header.alg !== "HS256") {
      throw ERRORS.unauthenticated("Invalid token: not an HS256 JWT");
    }
    const accessKey = decoded.payload.iss;
    if (typeof accessKey !== "string" || accessKey.length === 0 || accessKey.length > 64) {
      throw ERRORS.unauthenticated("Invalid token: iss must be the access key");
    }
    const keypair = await this.ds.getRepository(ApiKeypairEntity).findOneBy({ accessKey, revokedAt: IsNull() });
    if (!keypair) throw ERRORS.unauthenticated("Invalid token: unknown or revoked access key");

    let secret: string;
    try {
      secret = this.keyring.open(keypair.secretKeyEncrypted, keypairSecretPurpose(keypair.accessKey));
    } catch (error) {
      // A start opened every stored secret: only a value altered since gets here, worth an operator's attention.
      this.options.logger?.error(`cannot decrypt the secret of key pair ${keypair.accessKey}`, error);
      throw ERRORS.unauthenticated("Invalid token: the key pair cannot be used");
    }
    const now = Math.floor((this.options.clock ?? systemClock).now() / 1000);
    let claims: jwt.JwtPayload;
    try {
      const verified = jwt.verify(token, secret, { algorithms: ["HS256"], issuer: accessKey, clockTimestamp: now });
      if (typeof verified === "string") throw new Error("payload is not an object");
      claims = verified;
    } catch (error) {
      throw ERRORS.unauthenticated(`Invalid token: ${(error as Error).message}`);
    }
    if (typeof claims.exp !== "number") throw ERRORS.unauthenticated("Invalid token: exp is required");
    if (claims.exp > now + MAX_CLIENT_TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
      throw ERRORS.unauthenticated(`Invalid token: exp may be at most ${MAX_CLIENT_TOKEN_LIFETIME_SECONDS} seconds ahead`);
    }
    await this.ds.query(
      `UPDATE api_keypairs SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '${LAST_USED_RESOLUTION}')`,
      [keypair.id],
    );
    return {
      viewer: { sub: keypair.accessKey, role: keypair.role.toLowerCase() as Role },
      credential: { kind: "keypair", subject: keypair.accessKey, issuedAt: typeof claims.iat === "number" ? claims.iat : null, expiresAt: claims.exp },
    };
  }
}
