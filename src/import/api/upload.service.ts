import { createHash } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DataSource, EntityManager } from "typeorm";
import type { Viewer } from "../../auth/viewer";
import type { ArtifactStatus } from "../../common/enums";
import { ERRORS } from "../../common/errors";
import type { Logger } from "../../common/logger";
import { isUuid, parseId, toGlobalId } from "../../common/relay";
import type { Config } from "../../config/config";
import { statusIn, UPLOADABLE_STATUSES } from "../../revision/lifecycle";
import { unsafePathReason } from "../../revision/safe-path";
import type { LinkSigner } from "../../storage/link-signer";
import type { StorageManager } from "../../storage/storage-manager";
import { claimFolder } from "../pipeline/folders";
import { clearUploadObjects, forgetUploads, uploadKey } from "../uploads";

const DEFAULT_URL_EXPIRY_SECONDS = 3600;
/** The `store` every upload link is signed for: the link's key is the upload's id, not a storage key. */
const UPLOAD_STORE = "revision-uploads";

/** Why an upload link's PUT was refused, with the HTTP status it answers. */
export class UploadRefused extends Error {
  override readonly name = "UploadRefused";
  constructor(readonly status: 403 | 404 | 409 | 413, message: string) {
    super(message);
  }
}

export interface ReceivedUpload {
  path: string;
  size: number;
  sha256: string;
}

export interface UploadServiceDeps {
  ds: DataSource;
  config: Pick<Config, "presignedUrlMaxExpiry" | "uploadMaxBytes">;
  storage: Pick<StorageManager, "adapterFor" | "defaultNamespaceId">;
  signer: LinkSigner;
  /** Origin the app is reachable at, read when a link is made. */
  publicUrl: () => string;
  logger: Logger;
}

interface UploadTarget {
  status: ArtifactStatus;
  readonly: boolean;
}

/**
 * Uploads into a revision: a link per file, used once, through the service on either storage.
 *
 * A link is given only for a writable artifact's revision that holds no verified files and
 * imports nothing (SCANNED or FAILED), and whose folder no other revision uses in the namespace.
 * Its PUT claims the link's nonce in one statement, so it uploads at most once whichever process
 * serves it; the bytes go, hashed as they arrive, to the upload's own key, where nothing serves
 * them; the upload is recorded with its SHA-256 and size only if the revision still takes
 * uploads. importArtifacts then publishes the revision's uploads through the import pipeline.
 */
export class UploadService {
  constructor(private readonly deps: UploadServiceDeps) {}

  /** A link to PUT one file of the revision at `key`; CONFLICT when the revision cannot take uploads. */
  async issue(rawId: string, key: string, viewer: Viewer): Promise<{ url: string; fields: Record<string, string> }> {
    const id = parseId("ArtifactRevision", rawId, "artifactRevisionId");
    const unsafe = unsafePathReason(key);
    if (unsafe) throw ERRORS.badInput(`key is not a safe relative path: ${unsafe}`, { argumentName: "key" });
    const seconds = Math.min(DEFAULT_URL_EXPIRY_SECONDS, this.deps.config.presignedUrlMaxExpiry);
    const upload = await this.deps.ds.transaction(async (em) => {
      const [row]: Array<{ status: ArtifactStatus; version: string; name: string; readonly: boolean; availability: string }> = await em.query(
        `SELECT r.status, r.version, a.name, a.readonly, a.availability FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id
          WHERE r.id = $1 FOR UPDATE OF r`,
        [id],
      );
      const globalId = toGlobalId("ArtifactRevision", id);
      if (!row || (viewer.role === "user" && row.availability !== "ALIVE")) throw ERRORS.notFound("ArtifactRevision", globalId);
      this.check(globalId, row.name, row);
      // All uploads of a revision wait in one namespace, the one its import of them writes to.
      const [held]: Array<{ namespace_id: string }> = await em.query(`SELECT namespace_id FROM artifact_revision_uploads WHERE revision_id = $1 LIMIT 1`, [id]);
      const namespaceId = held?.namespace_id ?? this.deps.storage.defaultNamespaceId;
      await claimFolder(em, id, row.name, row.version, namespaceId, null);
      const [created]: Array<{ id: string; exp: string }> = await em.query(
        `INSERT INTO artifact_revision_uploads (revision_id, namespace_id, path, created_by, expires_at)
         VALUES ($1, $2, $3, $4, date_trunc('second', now()) + make_interval(secs => $5))
         RETURNING id, extract(epoch FROM expires_at)::bigint::text AS exp`,
        [id, namespaceId, key, viewer.sub, seconds],
      );
      return created;
    });
    const exp = Number(upload.exp);
    const sig = this.deps.signer.sign({ store: UPLOAD_STORE, key: upload.id, op: "upload", exp });
    const url = `${this.deps.publicUrl().replace(/\/+$/, "")}/storage/uploads/${upload.id}?${new URLSearchParams({ exp: String(exp), sig })}`;
    return { url, fields: {} };
  }

  /**
   * The PUT of an upload link: claims it (once, ever), stores the body under the upload's own
   * key while hashing it, and records it if the revision still takes uploads. Refusals before
   * the claim change nothing; a refused or broken upload leaves no object behind.
   */
  async receive(uploadId: string, link: { exp: unknown; sig: unknown }, body: Readable, signal: AbortSignal, declaredLength?: number): Promise<ReceivedUpload> {
    if (!isUuid(uploadId)) throw new UploadRefused(403, "link malformed");
    const verdict = this.deps.signer.verify({ store: UPLOAD_STORE, key: uploadId.toLowerCase(), op: "upload", exp: link.exp, sig: link.sig });
    if (!verdict.ok) throw new UploadRefused(403, `link ${verdict.reason}`);
    const maxBytes = this.deps.config.uploadMaxBytes;
    const tooLarge = () => new UploadRefused(413, `a file may be at most ${maxBytes} bytes (UPLOAD_MAX_BYTES)`);
    // A declared length over the cap is refused before the link is used, so it can be used again.
    if (declaredLength !== undefined && declaredLength > maxBytes) throw tooLarge();
    const claimed = await this.claim(verdict.claims.key);
    const key = uploadKey(claimed.revisionId, claimed.id);
    const adapter = await this.deps.storage.adapterFor(claimed.namespaceId);

    const hash = createHash("sha256");
    let size = 0;
    let overflowed = false;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) {
          overflowed = true;
          return done(tooLarge());
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    // A body that breaks (or grows past the cap) destroys `counted`, so the put rejects and keeps nothing.
    pipeline(body, counted, { signal }).catch(() => undefined);
    try {
      await adapter.put(key, counted, { signal });
    } catch (error) {
      if (overflowed) throw tooLarge();
      throw error;
    }
    const received: ReceivedUpload = { path: claimed.path, size, sha256: hash.digest("hex") };

    let replaced: string[];
    try {
      replaced = await this.deps.ds.transaction((em) => this.record(em, claimed, received));
    } catch (error) {
      await this.deleteQuietly(adapter, [key]);
      throw error;
    }
    await this.deleteQuietly(adapter, replaced.map((id) => uploadKey(claimed.revisionId, id)));
    return received;
  }

  /**
   * Forgets the revision's uploads, links not used yet included, and deletes their objects there
   * and in `namespaceIds` (cleanup of the revision); false when it had none.
   */
  async discard(em: EntityManager, revisionId: string, namespaceIds: readonly string[]): Promise<boolean> {
    const held = await forgetUploads(em, revisionId);
    for (const namespaceId of new Set([...held, ...namespaceIds])) await clearUploadObjects(await this.deps.storage.adapterFor(namespaceId), revisionId);
    return held.length > 0;
  }

  /** Marks the link used in one statement, only while it is live and its revision takes uploads; else says why, changing nothing. */
  private async claim(uploadId: string): Promise<{ id: string; revisionId: string; namespaceId: string; path: string }> {
    const [rows]: [Array<{ id: string; revision_id: string; namespace_id: string; path: string }>, number] = await this.deps.ds.query(
      `UPDATE artifact_revision_uploads u SET started_at = now()
         FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id
        WHERE u.id = $1 AND r.id = u.revision_id AND u.started_at IS NULL AND u.expires_at > now()
          AND r.status = ANY($2) AND NOT a.readonly
        RETURNING u.id, u.revision_id, u.namespace_id, u.path`,
      [uploadId, UPLOADABLE_STATUSES],
    );
    if (rows.length === 1) return { id: rows[0].id, revisionId: rows[0].revision_id, namespaceId: rows[0].namespace_id, path: rows[0].path };

    const [row]: Array<UploadTarget & { started: boolean; live: boolean; revision_id: string; name: string }> = await this.deps.ds.query(
      `SELECT u.started_at IS NOT NULL AS started, u.expires_at > now() AS live, u.revision_id, r.status, a.readonly, a.name
         FROM artifact_revision_uploads u JOIN artifact_revisions r ON r.id = u.revision_id JOIN artifacts a ON a.id = r.artifact_id
        WHERE u.id = $1`,
      [uploadId],
    );
    if (!row) throw new UploadRefused(404, "no such upload: its revision was imported or cleaned up since the link was made");
    if (row.started) throw new UploadRefused(409, "this upload link was used already: ask for another");
    if (!row.live) throw new UploadRefused(403, "link expired");
    try {
      this.check(toGlobalId("ArtifactRevision", row.revision_id), row.name, row);
    } catch (error) {
      throw new UploadRefused(409, (error as Error).message);
    }
    throw new UploadRefused(409, "the upload could not be claimed: try again");
  }

  /**
   * Under the revision's lock, which an import's start also takes: an upload is recorded only
   * while the revision still takes uploads, so an import never misses or mixes in one. A later
   * upload of a path replaces the earlier one; answers the replaced uploads' ids.
   */
  private async record(em: EntityManager, claimed: { id: string; revisionId: string; path: string }, received: ReceivedUpload): Promise<string[]> {
    const [row]: Array<UploadTarget & { name: string }> = await em.query(
      `SELECT r.status, a.readonly, a.name FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE r.id = $1 FOR UPDATE OF r`,
      [claimed.revisionId],
    );
    try {
      if (!row) throw new Error("the revision is gone");
      this.check(toGlobalId("ArtifactRevision", claimed.revisionId), row.name, row);
    } catch (error) {
      throw new UploadRefused(409, `${(error as Error).message}; the upload was not kept`);
    }
    const [replaced]: [Array<{ id: string }>, number] = await em.query(
      `DELETE FROM artifact_revision_uploads WHERE revision_id = $1 AND path = $2 AND completed_at IS NOT NULL RETURNING id`,
      [claimed.revisionId, claimed.path],
    );
    const [done]: [Array<{ id: string }>, number] = await em.query(
      `UPDATE artifact_revision_uploads SET completed_at = now(), size = $2, sha256 = $3 WHERE id = $1 RETURNING id`,
      [claimed.id, received.size, received.sha256],
    );
    if (done.length === 0) throw new UploadRefused(409, "the revision's uploads were discarded (cleaned up) during this upload; it was not kept");
    return replaced.map((r) => r.id);
  }

  /** Whether the revision takes uploads: CONFLICT naming why not. */
  private check(globalId: string, artifactName: string, target: UploadTarget): void {
    if (target.readonly) throw ERRORS.conflict(`The artifact ${artifactName} is readonly: files cannot be uploaded to it`);
    if (!statusIn(UPLOADABLE_STATUSES, target.status)) {
      throw ERRORS.conflict(
        `ArtifactRevision ${globalId} is ${target.status}: files are uploaded into a SCANNED or FAILED revision, then published by importing it; ` +
        `the files of an imported revision never change (clean it up first)`,
        { currentStatus: target.status },
      );
    }
  }

  private async deleteQuietly(adapter: { delete(key: string): Promise<void> }, keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        await adapter.delete(key);
      } catch (error) {
        // Nothing names it: cleanup, or the import of the revision's uploads, clears the prefix.
        this.deps.logger.warn(`could not delete the upload object ${key}`, error);
      }
    }
  }
}
