import type { ManifestFile } from "../../revision/manifest";
import { unsafePathReason } from "../../revision/safe-path";
import { HubError, type HubClient } from "../../upstream/huggingface/hub.port";
import type { FileSource, ImportFile, OpenedFile } from "../import.ports";
import { PermanentImportError } from "../import.errors";

/**
 * Reads a model's files from a Hugging Face Hub at one commit: the pinned one, never the branch,
 * so a branch that moves during the import cannot mix two commits' files.
 */
export class HuggingFaceFileSource implements FileSource {
  readonly kind = "huggingface";

  constructor(
    private readonly hub: HubClient,
    readonly repo: string,
    readonly commit: string,
  ) {}

  async open(file: ImportFile, opts: { range?: { start: number }; signal: AbortSignal }): Promise<OpenedFile> {
    const download = await this.hub.download(this.repo, this.commit, file.path, { range: opts.range, signal: opts.signal });
    if (download.commit && download.commit !== this.commit) {
      download.body.destroy();
      throw new PermanentImportError(`The hub served ${file.path} from commit ${download.commit}, not the pinned ${this.commit}`);
    }
    if (opts.range && download.status === 206 && download.contentRange && download.contentRange.start !== opts.range.start) {
      download.body.destroy();
      throw new HubError(`asked for ${file.path} from byte ${opts.range.start}, got bytes from ${download.contentRange.start}`, 206, null, true, file.path);
    }
    // Small files may come compressed (fetch decodes them, the header still counts encoded bytes);
    // LFS files come raw from the CDN, so only their length can fail a transfer before it starts.
    return { status: download.status, body: download.body, etag: download.etag, contentLength: file.sha256 ? download.contentLength : null };
  }

  /** The files at the pinned commit, as the scanner records them; unsafe paths are left out and named. */
  async listFiles(signal?: AbortSignal): Promise<{ files: ManifestFile[]; skipped: string[] }> {
    const files: ManifestFile[] = [];
    const skipped: string[] = [];
    for await (const entry of this.hub.tree(this.repo, this.commit, { signal })) {
      if (entry.type !== "file") continue;
      const unsafe = unsafePathReason(entry.path);
      if (unsafe) {
        skipped.push(`${JSON.stringify(entry.path.slice(0, 200))} (${unsafe})`);
        continue;
      }
      files.push({ path: entry.path, size: String(entry.lfs?.size ?? entry.size), sha256: entry.lfs?.oid ?? null, upstreamOid: entry.oid ?? null });
    }
    return { files, skipped };
  }
}
