import net from "node:net";

/*
 * A link of limited bandwidth between the fake hub and its clients: a TCP proxy whose bytes
 * toward the clients all draw on one token bucket. Every connection shares the link, as
 * every download shares a real uplink, so a client that opens more connections gets no more
 * than the link carries; and the hub itself never sleeps, so a busy client is not penalised
 * for reading late (the hub's own throttle would be).
 */

export interface LinkRoute {
  /** Port to listen on, on loopback. */
  listenPort: number;
  /** host:port the connections go to. */
  target: { host: string; port: number };
}

/**
 * How long a full bucket lasts at the link's rate: a short burst after an idle moment, as a real
 * link's queue. It must outlast the proxy's event-loop delays on a busy machine, or each late
 * wake-up loses tokens and the link carries less than its rate (256 KiB carried 0.85 of 100 MiB/s).
 */
const BURST_SECONDS = 0.05;

export class TokenBucket {
  private tokens: number;
  private last = process.hrtime.bigint();
  private readonly waiting = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly bytesPerSecond: number, private readonly burst = Math.max(256 * 1024, bytesPerSecond * BURST_SECONDS)) {
    this.tokens = burst;
  }

  /** Takes n bytes' worth (it may go into debt); true when the sender may go on at once. */
  take(n: number): boolean {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0;
  }

  /** Calls `go` once the debt is paid. */
  whenPaid(go: () => void): void {
    this.waiting.add(go);
    this.schedule();
  }

  private refill(): void {
    const now = process.hrtime.bigint();
    this.tokens = Math.min(this.burst, this.tokens + (Number(now - this.last) / 1e9) * this.bytesPerSecond);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer) return;
    this.refill();
    const ms = this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSecond) * 1000;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      if (this.tokens < 0) return this.schedule();
      const waiting = [...this.waiting];
      this.waiting.clear();
      for (const go of waiting) go();
    }, Math.ceil(ms));
  }
}

/** Starts one listener per route, all on one bucket of `mibps` MiB/s toward the clients. */
export async function startLink(routes: LinkRoute[], mibps: number): Promise<{ stop(): Promise<void> }> {
  const bucket = new TokenBucket(mibps * 1024 * 1024);
  const servers = routes.map((route) =>
    net.createServer((client) => {
      const upstream = net.connect(route.target.port, route.target.host);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      // Requests go up unshaped; they are small.
      client.pipe(upstream);
      upstream.on("data", (chunk: Buffer) => {
        const flowing = client.write(chunk);
        const paid = bucket.take(chunk.length);
        if (flowing && paid) return;
        upstream.pause();
        let waits = (flowing ? 0 : 1) + (paid ? 0 : 1);
        const resume = () => {
          if (--waits === 0 && !upstream.destroyed) upstream.resume();
        };
        if (!flowing) client.once("drain", resume);
        if (!paid) bucket.whenPaid(resume);
      });
      upstream.on("end", () => client.end());
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close);
      upstream.on("error", close);
      client.on("close", close);
      upstream.on("close", () => (client.writableFinished ? undefined : client.destroySoon()));
    }),
  );
  await Promise.all(servers.map((server, i) => new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(routes[i].listenPort, "127.0.0.1", () => resolve());
  })));
  return {
    stop: () => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined),
  };
}
