import type { DataSource } from "typeorm";
import type { StorageManager } from "../../storage/storage-manager";
import { StorageNotFoundError } from "../../storage/storage.port";
import { PermanentImportError } from "../import.errors";
import type { FileSource, ImportFile, ImportRevision, OpenedFile, PreparedSource } from "../import.ports";
import { finishedUploads, uploadKey, type UploadedFile } from "../uploads";

/*
 * A revision's uploads as an import's source: the import copies each finished upload into
 * staging like a file from upstream, hashing it again against the SHA-256 recorded when it
 * arrived, then places and verifies it. An upload reaches its final key only that way.
 */

export interface UploadSourceDeps {
  ds: DataSource;
  storage: Pick<StorageManager, "adapterFor">;
}

/** Reads the uploads of the revision from the namespace its import writes to, which is theirs (see ImportService). */
export async function createUploadSource(deps: UploadSourceDeps, revision: ImportRevision): Promise<PreparedSource> {
  if (!revision.namespaceId) throw new PermanentImportError(`${revision.artifactName}@${revision.version}: an import of uploads names no namespace: import it again`);
  const adapter = await deps.storage.adapterFor(revision.namespaceId);
  let uploads: Promise<Map<string, UploadedFile>> | null = null;
  const byPath = () => {
    uploads ??= finishedUploads(deps.ds, revision.id).then((found) => new Map((found?.files ?? []).map((f) => [f.path, f])));
    return uploads;
  };
  const source: FileSource = {
    kind: "upload",
    async open(file: ImportFile, opts: { range?: { start: number }; signal: AbortSignal }): Promise<OpenedFile> {
      const upload = (await byPath()).get(file.path);
      const gone = new PermanentImportError(`The upload of ${file.path} is no longer there: upload it again, then import the revision`);
      if (!upload) throw gone;
      const key = uploadKey(revision.id, upload.uploadId);
      const start = opts.range?.start ?? 0;
      try {
        // The stored length, not the recorded one: bytes changed behind the service fail at once.
        const stored = await adapter.stat(key);
        if (!stored) throw gone;
        const body = await adapter.get(key, { range: opts.range ? { start } : undefined, signal: opts.signal });
        return { status: opts.range ? 206 : 200, body, etag: upload.uploadId, contentLength: stored.size - start };
      } catch (error) {
        if (error instanceof StorageNotFoundError) throw gone;
        throw error;
      }
    },
  };
  return {
    source,
    listFiles: async () => ({ files: [...(await byPath()).values()].map(({ path, size, sha256 }) => ({ path, size, sha256, upstreamOid: null })), skipped: [] }),
  };
}
