import { createHash, randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { MAX_SINGLE_PUT, S3StorageAdapter } from "../../src/storage/s3.adapter";
import { PLACED_RECEIPT, type StagingArea } from "../../src/storage/storage.port";
import { startS3rver, type S3rverHandle } from "../support/s3rver";

/*
 * S3's putFinal for a file whose size and SHA-256 the import knows: one PUT, streamed as the
 * bytes arrive, whose last chunk waits for the body's end (the import ends it once the hash
 * matched). A body that fails never completes the request, so S3 stores nothing.
 */

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

let s3: S3rverHandle;
let adapter: S3StorageAdapter;

beforeAll(async () => {
  s3 = await startS3rver();
  adapter = new S3StorageAdapter({ endPoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, bucket: "streamed" });
  await adapter.ensureBucket();
});
afterAll(async () => {
  await s3?.stop();
});

/** Polls check until it holds; fails after 20 s, naming what it waited for. */
async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 20_000; !(await check());) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** S3's staging area for the folder `final/`; its putFinal is what an import uses into a new folder. */
function staging(): { putFinal: NonNullable<StagingArea["putFinal"]> } {
  const area = adapter.staging("final/", ".staging/");
  if (!area.putFinal) throw new Error("S3 staging stores files at their final keys");
  return { putFinal: area.putFinal.bind(area) };
}

async function bytesAt(key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await adapter.get(key)) chunks.push(chunk as Buffer);
  return sha256(Buffer.concat(chunks));
}

/**
 * Gives body every byte of data without ending it, as an import holds a file until its hash
 * matched, and waits until s3rver has written all of them but the last 64 KiB the upload holds
 * back (or, were nothing held back, the whole object).
 */
async function heldBody(body: PassThrough, key: string, data: Buffer): Promise<void> {
  body.write(data);
  await waitFor("the PUT to be under way", async () => s3.receiving("streamed").includes(key));
  await waitFor("s3rver to write all but the held-back end", async () => {
    const received = await s3.received("streamed", key);
    return received === null || received >= data.length - 64 * 1024;
  });
}

describe("putFinal on S3 with the file's size and SHA-256 known", () => {
  it("sends it in one PUT, not in parts, and the object shows only once the body has ended", async () => {
    const data = randomBytes(12 * MiB + 3);
    const body = new PassThrough();
    const put = staging().putFinal("one.bin", body, { size: data.length, sha256: sha256(data) });
    await heldBody(body, "final/one.bin", data);
    expect(await s3.pendingUploads("streamed")).toEqual([]);
    expect(await adapter.stat("final/one.bin")).toBeNull();

    body.end();
    expect(await put).toEqual({ size: data.length, receipt: PLACED_RECEIPT });
    expect(await bytesAt("final/one.bin")).toBe(sha256(data));
    expect(s3.receiving("streamed")).toEqual([]);
  });

  it("stores nothing for a body that fails after all but its end, and leaves an object already at the key as it was", async () => {
    const old = randomBytes(100);
    await adapter.put("final/kept.bin", PassThrough.from([old]));
    const data = randomBytes(9 * MiB);
    const body = new PassThrough();
    const put = staging().putFinal("kept.bin", body, { size: data.length, sha256: sha256(data) });
    put.catch(() => undefined);
    await heldBody(body, "final/kept.bin", data);
    expect(await bytesAt("final/kept.bin")).toBe(sha256(old));

    body.destroy(new Error("checksum mismatch"));
    await expect(put).rejects.toThrow("checksum mismatch");
    await waitFor("s3rver to drop the PUT cut short", async () => s3.receiving("streamed").length === 0);
    expect(await bytesAt("final/kept.bin")).toBe(sha256(old));
  });

  it("cuts the PUT short when the signal aborts: it rejects with the reason and nothing is stored", async () => {
    const data = randomBytes(10 * MiB);
    const controller = new AbortController();
    const body = new PassThrough();
    const put = staging().putFinal("aborted.bin", body, { size: data.length, sha256: sha256(data), signal: controller.signal });
    put.catch(() => undefined);
    await heldBody(body, "final/aborted.bin", data);
    controller.abort(new Error("cancelled"));
    await expect(put).rejects.toThrow("cancelled");
    expect(body.destroyed).toBe(true);
    await waitFor("s3rver to drop the PUT cut short", async () => s3.receiving("streamed").length === 0);
    expect(await adapter.stat("final/aborted.bin")).toBeNull();
  });

  it.each([
    ["longer", 1],
    ["shorter", -1],
  ])("refuses a body %s than announced, and stores nothing", async (_what, delta) => {
    const size = 9 * MiB;
    const data = randomBytes(size + delta);
    const body = new PassThrough();
    const put = staging().putFinal(`${_what}.bin`, body, { size, sha256: sha256(data) });
    body.end(data);
    await expect(put).rejects.toThrow(/announced/);
    await waitFor("s3rver to drop the PUT cut short", async () => s3.receiving("streamed").length === 0);
    expect(await adapter.stat(`final/${_what}.bin`)).toBeNull();
  });

  it("streams only a body of known size, over one part, within S3's 5 GiB, with its SHA-256 over http", () => {
    const sha = "a".repeat(64);
    expect(adapter.canStream({ size: 9 * MiB, sha256: sha })).toBe(true);
    expect(adapter.canStream({ size: MAX_SINGLE_PUT, sha256: sha })).toBe(true);
    expect(adapter.canStream({ size: MAX_SINGLE_PUT + 1, sha256: sha })).toBe(false);
    expect(adapter.canStream({ size: 8 * MiB, sha256: sha })).toBe(false);
    expect(adapter.canStream({ sha256: sha })).toBe(false);
    // minio signs every payload over http: without the hash there is nothing to sign a stream with.
    expect(adapter.canStream({ size: 9 * MiB })).toBe(false);
    expect(adapter.canStream({ size: 9 * MiB, sha256: "not a hash" })).toBe(false);
  });
});

describe("putFinal on S3 without the file's SHA-256", () => {
  it("falls back to a multipart upload, completed only once the body has ended", async () => {
    const data = randomBytes(9 * MiB);
    const body = new PassThrough();
    body.write(data);
    const put = staging().putFinal("parts.bin", body, { size: data.length });
    await waitFor("the first part to be uploaded", async () => (await s3.pendingUploads("streamed")).includes("final/parts.bin"));
    expect(await adapter.stat("final/parts.bin")).toBeNull();
    body.end();
    expect(await put).toEqual({ size: data.length, receipt: PLACED_RECEIPT });
    expect(await bytesAt("final/parts.bin")).toBe(sha256(data));
  });
});
