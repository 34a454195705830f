import type { DataSource } from "typeorm";
import { ERRORS } from "../common/errors";
import type { Logger } from "../common/logger";
import type { CredentialRevokedEvent, EventBus } from "../events/event-bus";
import type { Credential } from "./viewer";
import { systemClock, type Clock } from "../common/clock";

const SUBJECT_MAX = 256;
/** Catches up with revocations whose notification this process missed (a lost LISTEN connection). */
const RELOAD_INTERVAL_MS = 30_000;

export type RevocationListener = (event: CredentialRevokedEvent) => void;

/**
 * Revoked credentials, held in memory by every API process: a token is checked on every request
 * and every graphql-ws operation without a query. A revocation is written to the database and
 * announced on the event bus in one transaction, so every process learns of it at commit; a
 * process that missed the notification reads it at its next reload.
 */
export class TokenRevocations {
  /** subject → not-before, ms since the epoch. */
  private subjects = new Map<string, number>();
  /** access keys of revoked key pairs → when. */
  private keypairs = new Map<string, number>();
  private readonly listeners = new Set<RevocationListener>();
  private stream: { return(): Promise<unknown> } | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ds: DataSource, private readonly events: EventBus, private readonly logger: Logger, private readonly clock: Clock = systemClock) {}

  async start(): Promise<void> {
    const stream = this.events.subscribe("auth.revoked");
    this.stream = stream;
    void (async () => {
      for await (const event of stream) this.apply(event);
    })().catch((error) => this.logger.error("the revocation stream failed", error));
    await this.reload();
    this.timer = setInterval(() => void this.reload().catch((error) => this.logger.warn(`reloading token revocations failed: ${(error as Error).message}`)), RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.stream?.return();
  }

  /** Called for every revocation this process learns of, from any process. */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Why the credential is revoked ("Token revoked", "Key pair revoked"), or null. */
  refusal(credential: Credential): string | null {
    if (credential.kind === "keypair" && this.keypairs.has(credential.subject)) return "Key pair revoked";
    const notBefore = this.subjects.get(credential.subject);
    // A token without iat cannot prove it is newer; one of the same second as the revocation is refused too.
    if (notBefore !== undefined && (credential.issuedAt === null || credential.issuedAt * 1000 < notBefore)) return "Token revoked";
    return null;
  }

  /** Refuses every token of `subject` issued until now, in every process. */
  async revokeSubject(subject: string, actor: string): Promise<Date> {
    const trimmed = subject.trim();
    if (!trimmed || trimmed.length > SUBJECT_MAX) throw ERRORS.badInput(`subject must be 1 to ${SUBJECT_MAX} characters`, { field: "subject" });
    const notBefore = await this.ds.transaction(async (manager) => {
      const [row] = await manager.query(
        // The servers' clock, which dates the tokens, rather than the database's.
        `INSERT INTO token_revocations (subject, not_before, revoked_by) VALUES ($1, $3, $2)
         ON CONFLICT (subject) DO UPDATE SET not_before = GREATEST(token_revocations.not_before, excluded.not_before), revoked_by = excluded.revoked_by
         RETURNING not_before`,
        [trimmed, actor, new Date(this.clock.now())],
      );
      const notBefore = new Date(row.not_before);
      await this.events.publishIn(manager, "auth.revoked", { kind: "subject", subject: trimmed, notBefore: notBefore.toISOString() });
      return notBefore;
    });
    // This process refuses the tokens from now on, not only once its own notification comes back.
    this.apply({ kind: "subject", subject: trimmed, notBefore: notBefore.toISOString() });
    return notBefore;
  }

  private apply(event: CredentialRevokedEvent): void {
    const at = Date.parse(event.notBefore);
    if (typeof event.subject !== "string" || Number.isNaN(at)) return;
    const map = event.kind === "keypair" ? this.keypairs : this.subjects;
    const known = map.get(event.subject);
    if (known === undefined || known < at) map.set(event.subject, at);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error("a revocation listener failed", error);
      }
    }
  }

  /** Reads every revocation; announces to the listeners those this process had not heard of. */
  private async reload(): Promise<void> {
    const subjects: Array<{ subject: string; not_before: Date }> = await this.ds.query(`SELECT subject, not_before FROM token_revocations`);
    const keypairs: Array<{ access_key: string; revoked_at: Date }> = await this.ds.query(`SELECT access_key, revoked_at FROM api_keypairs WHERE revoked_at IS NOT NULL`);
    const missed: CredentialRevokedEvent[] = [];
    for (const row of subjects) {
      const at = new Date(row.not_before).getTime();
      if ((this.subjects.get(row.subject) ?? -Infinity) < at) missed.push({ kind: "subject", subject: row.subject, notBefore: new Date(at).toISOString() });
    }
    for (const row of keypairs) {
      if (!this.keypairs.has(row.access_key)) missed.push({ kind: "keypair", subject: row.access_key, notBefore: new Date(row.revoked_at).toISOString() });
    }
    for (const event of missed) this.apply(event);
  }
}
