import type { Readable } from "node:stream";
import {
  normalizePrefix, StorageKeyError, StorageNotFoundError, type PutOptions, type StagedFile, type StagedObject, type StagingArea, type StorageAdapter,
} from "./storage.port";

/** The receipt of an object staged under the scratch prefix. */
export const SCRATCH_RECEIPT = "scratch";

/**
 * Staging under a scratch prefix: a put there, a move to publish. The filesystem's way (the move
 * is a rename), and S3's for objects of one part.
 */
export class ScratchStaging implements StagingArea {
  constructor(
    protected readonly adapter: StorageAdapter,
    readonly finalPrefix: string,
    readonly scratchPrefix: string,
  ) {
    for (const prefix of [finalPrefix, scratchPrefix]) {
      normalizePrefix(prefix);
      if (!prefix.endsWith("/")) throw new StorageKeyError(prefix, "a staging prefix must end with '/'");
    }
    if (finalPrefix.startsWith(scratchPrefix) || scratchPrefix.startsWith(finalPrefix)) {
      throw new StorageKeyError(scratchPrefix, `must not overlap the final prefix ${JSON.stringify(finalPrefix)}`);
    }
  }

  async put(path: string, body: Readable, opts?: PutOptions): Promise<StagedObject> {
    // Its name need not be durable yet: a crash means the file is checked again, and publishing syncs folders.
    const { size } = await this.adapter.put(this.scratchKey(path), body, { ...opts, syncFolder: false });
    return { size, receipt: SCRATCH_RECEIPT };
  }

  /** A receipt this staging did not write (another backend's, say) holds nothing here. */
  async holds(path: string, receipt: string, size: number): Promise<boolean> {
    if (receipt !== SCRATCH_RECEIPT) return false;
    return (await this.adapter.stat(this.scratchKey(path)))?.size === size;
  }

  async publish(path: string, receipt: string): Promise<void> {
    if (receipt !== SCRATCH_RECEIPT) throw new StorageNotFoundError(this.scratchKey(path));
    await this.publishScratch(path);
  }

  /** Puts the scratch copy of path at its final key: a move here (a rename on the filesystem). */
  protected async publishScratch(path: string): Promise<void> {
    await this.adapter.move(this.scratchKey(path), this.finalKey(path));
  }

  async clear(): Promise<void> {
    await this.adapter.deletePrefix(this.scratchPrefix);
  }

  /** A put to the scratch prefix leaves nothing a crash could cut short (a backend's own temporaries aside). */
  async dropAbandoned(_staged: readonly StagedFile[], _resume: ReadonlySet<string>): Promise<void> {}

  protected scratchKey(path: string): string {
    return this.scratchPrefix + path;
  }

  protected finalKey(path: string): string {
    return this.finalPrefix + path;
  }
}
