import net from "node:net";
import { MiB, intSetting, startService } from "./harness";
import { burstBytes, formatLinkStats, wallMs, type LinkStats } from "./link";
import { cpuSeconds } from "./proc";

/*
 * `npm run bench:link`: does the link of link.ts carry its nominal rate? A local source sends as
 * fast as the link takes; 1 and 4 connections read it, through the link in a process of its own,
 * as the import benchmark runs it. Per rate and connection count it prints the delivered rate
 * against the nominal one (from the first connect to the last byte), the most that any 1 s window
 * carried over the rate (it should not pass the bucket's burst), and the link process's CPU.
 *
 * Settings: BENCH_LINK_RATES ("50,100,150" MiB/s), BENCH_LINK_CONNECTIONS ("1,4"),
 * BENCH_LINK_MIB (bytes per measurement, 1024), BENCH_LINK_RUNS (2), BENCH_LINK_READ_KIB ("256":
 * the link's read sizes to compare; 0 is Node's own reads).
 */

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(",").map((v) => Number(v.trim())).filter((v) => v > 0);

interface Result {
  readKiB: number;
  mibps: number;
  connections: number;
  seconds: number;
  delivered: number;
  /** The most the link sent in any 1 s, minus one second of the rate, in MiB. */
  overMiB: number;
  linkCpu: number | null;
  link: LinkStats;
}

/** Serves `bytes` to each connection, as fast as the socket takes them. */
async function startSource(bytesPerConnection: number): Promise<{ port: number; close(): void }> {
  const block = Buffer.alloc(MiB, 7);
  const server = net.createServer((socket) => {
    let left = bytesPerConnection;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!socket.write(n === block.length ? block : block.subarray(0, n))) return void socket.once("drain", pump);
      }
      socket.end();
    };
    socket.on("error", () => socket.destroy());
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

async function measure(mibps: number, connections: number, totalBytes: number, readKiB: number): Promise<Result> {
  const perConnection = Math.floor(totalBytes / connections);
  const source = await startSource(perConnection);
  const listenPort = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const link = await startService<{ ports: number[] }>(["link", JSON.stringify({ mibps, routes: [{ listenPort, target: { host: "127.0.0.1", port: source.port } }], readBytes: readKiB * 1024 })]);
  try {
    let received = 0;
    const cpuBefore = await cpuSeconds(link.pid);
    const started = process.hrtime.bigint();
    const startedAtMs = wallMs();
    await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve, reject) => {
      let got = 0;
      const socket = net.connect(listenPort, "127.0.0.1");
      socket.on("data", (chunk: Buffer) => {
        got += chunk.length;
        received += chunk.length;
      });
      socket.on("end", () => (got === perConnection ? resolve() : reject(new Error(`got ${got} of ${perConnection} bytes`))));
      socket.on("error", reject);
    })));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuAfter = await cpuSeconds(link.pid);
    const statsAfter = JSON.parse(await link.ask(`stats ${startedAtMs} ${startedAtMs + seconds * 1000}`)) as LinkStats;
    return {
      readKiB,
      mibps,
      connections,
      seconds,
      delivered: received / MiB / seconds,
      overMiB: statsAfter.peakSecondMiB - mibps,
      linkCpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
      link: statsAfter,
    };
  } finally {
    await link.stop();
    source.close();
  }
}

async function main(): Promise<void> {
  const rates = list("BENCH_LINK_RATES", "50,100,150");
  const connectionCounts = list("BENCH_LINK_CONNECTIONS", "1,4");
  const totalBytes = intSetting(process.env, "BENCH_LINK_MIB", 1024) * MiB;
  const runs = intSetting(process.env, "BENCH_LINK_RUNS", 2);
  // 0: Node's own reads (the link before its reads had their own buffers).
  const readSizes = (process.env.BENCH_LINK_READ_KIB ?? "256").split(",").map((v) => Number(v.trim())).filter((v) => v >= 0);
  console.log(`${totalBytes / MiB} MiB per measurement, ${runs} runs each\n`);
  console.log("| read KiB | link MiB/s | connections | delivered MiB/s | ÷ nominal | most in 1 s over the rate (MiB) | burst (MiB) | link CPU s | the link's time and lost capacity |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (let run = 0; run < runs; run++) {
    for (const mibps of rates) {
      for (const connections of connectionCounts) {
        for (const readKiB of readSizes) {
          const r = await measure(mibps, connections, totalBytes, readKiB);
          console.log(`| ${r.readKiB || "node's"} | ${r.mibps} | ${r.connections} | ${r.delivered.toFixed(1)} | ${(r.delivered / r.mibps).toFixed(3)} | ${r.seconds < 1 ? "– (under 1 s)" : r.overMiB.toFixed(2)} | ${(burstBytes(r.mibps * MiB) / MiB).toFixed(2)} | ${r.linkCpu?.toFixed(2) ?? "?"} | ${formatLinkStats(r.link)} |`);
        }
      }
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
