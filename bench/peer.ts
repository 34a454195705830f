import { createWriteStream } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { downloadFile } from "@huggingface/hub";
import pLimit from "p-limit";
import { createS3Adapter } from "../src/storage/storage-manager";
import type { BaselineJob } from "./baseline";
import { transferMeter } from "./proc";

/*
 * The benchmark's peer, in its own process: what people use instead of the registry's import,
 * the official JavaScript client `@huggingface/hub`, downloading the same files with the same
 * concurrency. Into a directory, it does what its `downloadFileToCacheDir` does once it knows
 * the file (a HEAD, then the body piped into a file with Node's defaults; no hash, no fsync).
 * Into S3, the same body goes to the same s3rver through the S3 adapter the baseline uses.
 * Reads its job (a BaselineJob) as JSON from argv[2]; prints a JSON line.
 */

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as BaselineJob;
  const s3 = job.storage.kind === "s3"
    ? await (async (storage) => {
        const created = createS3Adapter(storage);
        await created.ensureBucket();
        return created;
      })(job.storage)
    : null;
  const limit = pLimit(job.concurrency);
  const report = await transferMeter();
  let bytes = 0;
  await Promise.all(job.files.map((file) => limit(async () => {
    const blob = await downloadFile({ repo: job.repo, path: file.path, revision: job.commit, hubUrl: job.hubUrl, xet: false });
    if (!blob) throw new Error(`the hub has no ${file.path}`);
    const body = Readable.fromWeb(blob.stream() as WebReadableStream<Uint8Array>);
    if (s3) {
      const put = await s3.put(`peer/${file.path}`, body, { size: file.size });
      bytes += put.size;
    } else if (job.storage.kind === "filesystem") {
      const target = path.join(job.storage.basePath, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      const out = createWriteStream(`${target}.incomplete`);
      await pipeline(body, out);
      await rename(`${target}.incomplete`, target);
      bytes += out.bytesWritten;
    }
  })));
  await report(bytes);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
