import { createCipheriv, createHash } from "node:crypto";
import { setImmediate as yieldToLoop } from "node:timers/promises";

/**
 * File content for the fake hub. Generated content is produced on demand in chunks, so a test
 * can declare a multi-GiB file without holding it in memory.
 * - `{ size, seed }`: deterministic pseudo-random bytes (AES-CTR keystream), any offset cheaply.
 * - `{ size, repeat }`: a text repeated up to `size` bytes (a giant README that is valid UTF-8
 *   until the cut).
 */
export type FakeContent = Buffer | string | { size: number; seed: number } | { size: number; repeat: string };

const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK + 16);

interface Source {
  size: number;
  chunks(start: number, end: number): Generator<Buffer>;
}

function bufferSource(bytes: Buffer): Source {
  return {
    size: bytes.length,
    *chunks(start, end) {
      for (let at = start; at < end; at += CHUNK) yield bytes.subarray(at, Math.min(end, at + CHUNK));
    },
  };
}

function seededSource(size: number, seed: number): Source {
  const key = createHash("sha256").update(`fake-hub:${seed}`).digest().subarray(0, 16);
  return {
    size,
    *chunks(start, end) {
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64BE(BigInt(Math.floor(start / 16)), 8);
      const cipher = createCipheriv("aes-128-ctr", key, iv);
      let skip = start % 16;
      for (let at = start; at < end; ) {
        const length = Math.min(CHUNK, end - at);
        const block = cipher.update(ZEROS.subarray(0, length + skip)).subarray(skip);
        skip = 0;
        at += block.length;
        yield block;
      }
    },
  };
}

function repeatSource(size: number, text: string): Source {
  const unit = Buffer.from(text, "utf8");
  if (unit.length === 0) throw new Error("repeat content needs a non-empty text");
  const tile = Buffer.alloc(CHUNK + unit.length);
  for (let at = 0; at < tile.length; at += unit.length) unit.copy(tile, at);
  return {
    size,
    *chunks(start, end) {
      for (let at = start; at < end; ) {
        const length = Math.min(CHUNK, end - at);
        const offset = at % unit.length;
        yield tile.subarray(offset, offset + length);
        at += length;
      }
    },
  };
}

export interface Digests {
  /** The git blob SHA-1 of the bytes ("blob <len>\0" + bytes). */
  gitOid: string;
  sha256: string;
}

export class FakeBlob {
  private readonly source: Source;
  private digestsPromise: Promise<Digests> | undefined;

  constructor(content: FakeContent) {
    if (typeof content === "string") this.source = bufferSource(Buffer.from(content, "utf8"));
    else if (Buffer.isBuffer(content)) this.source = bufferSource(content);
    else if ("seed" in content) this.source = seededSource(checkSize(content.size), content.seed);
    else this.source = repeatSource(checkSize(content.size), content.repeat);
  }

  get size(): number {
    return this.source.size;
  }

  /** Bytes [start, end) in chunks of at most 64 KiB. */
  chunks(start = 0, end = this.size): Generator<Buffer> {
    return this.source.chunks(start, Math.min(end, this.size));
  }

  /** Hashed once, lazily, giving the event loop a turn every few MiB so a big file does not stall the servers. */
  digests(): Promise<Digests> {
    this.digestsPromise ??= (async () => {
      const sha1 = createHash("sha1").update(`blob ${this.size}\0`);
      const sha256 = createHash("sha256");
      let sinceYield = 0;
      for (const chunk of this.chunks()) {
        sha1.update(chunk);
        sha256.update(chunk);
        sinceYield += chunk.length;
        if (sinceYield >= 8 * 1024 * 1024) {
          sinceYield = 0;
          await yieldToLoop();
        }
      }
      return { gitOid: sha1.digest("hex"), sha256: sha256.digest("hex") };
    })();
    return this.digestsPromise;
  }
}

function checkSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`invalid generated content size: ${size}`);
  return size;
}

export function gitBlobOid(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/** The pointer file git stores in place of an LFS object. */
export function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`, "utf8");
}
