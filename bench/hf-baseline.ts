import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/*
 * The serving benchmark's baseline: one file, fs.createReadStream piped into the response, and
 * nothing else (no routing, auth, catalogue or ranges). In a process of its own, with Node's
 * built-ins only, so its memory and CPU are its own.
 *
 *   node hf-baseline.js <file>      prints {"url": …} once it serves, then serves until stdin closes
 */

async function main(): Promise<void> {
  const file = process.argv[2];
  const { size } = await stat(file);
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })}\n`);
  process.stdin.resume();
  process.stdin.once("end", () => server.close(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
