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

/** The bucket's size for a link of this rate. */
export const burstBytes = (bytesPerSecond: number) => Math.max(256 * 1024, bytesPerSecond * BURST_SECONDS);

export class TokenBucket {
  private tokens: number;
  private last = process.hrtime.bigint();
  private readonly waiting = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Credit the full bucket could not hold: the link's capacity that went unused. */
  lost = 0;

  constructor(private readonly bytesPerSecond: number, readonly burst = burstBytes(bytesPerSecond)) {
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

  /** Credits the time elapsed since the last call. */
  refill(): void {
    const now = process.hrtime.bigint();
    const credited = this.tokens + (Number(now - this.last) / 1e9) * this.bytesPerSecond;
    this.last = now;
    this.lost += Math.max(0, credited - this.burst);
    this.tokens = Math.min(this.burst, credited);
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

/**
 * What the link was doing, by the moment: a connection waits for the bucket (`limited`: the link
 * is the bottleneck, as it should be); else one waits for its client to read (`receiver`); else
 * one has sent a request and waits for the first byte of the answer (`hub`); else connections are
 * open and nothing waits (`quiet`: between requests, or the hub sending slower than the link, or
 * this process not running: time nothing happens in counts toward the state it happened in);
 * or none is open (`idle`).
 */
export type LinkState = "limited" | "receiver" | "hub" | "quiet" | "idle";
const STATES: LinkState[] = ["limited", "receiver", "hub", "quiet", "idle"];

export interface LinkStats {
  /** Bytes carried toward the clients. */
  bytes: number;
  /** Seconds spent in each state. */
  seconds: Record<LinkState, number>;
  /** MiB of the link's capacity lost (credit beyond the full bucket) in each state. */
  lostMiB: Record<LinkState, number>;
  /** The most MiB the link carried in any 1 s since the stats were last read. */
  peakSecondMiB: number;
  /** Seconds from the interval's start to its first byte, and from its last byte to its end (null: no bytes). */
  firstByteS: number | null;
  afterLastByteS: number | null;
}

/** Wall-clock milliseconds, comparable between the processes of one machine. */
export const wallMs = () => performance.timeOrigin + performance.now();

/**
 * Counts what the connections wait for, and charges the time, the bytes and the lost credit to
 * the state being left, in a log of spans that can be summed over any interval.
 */
class LinkMeter {
  bytes = 0;
  open = 0;
  onBucket = 0;
  onReceiver = 0;
  onHub = 0;
  private since = wallMs();
  private lostBefore = 0;
  private bytesBefore = 0;
  /** Spans of one state each (a state repeated extends its span): start (wall ms), state, bytes, lost credit. */
  private readonly spans: Array<{ start: number; end: number; state: LinkState; bytes: number; lost: number; firstByte: number; lastByte: number }> = [];
  /** When the first and the last chunk since the last settle went out (wall ms). */
  private firstByte = 0;
  private lastByte = 0;
  /** When each chunk of the last second went out (ms), and the byte count before it. */
  private readonly sentAt: number[] = [];
  private readonly sentBefore: number[] = [];
  private first = 0;
  private peakSecond = 0;

  constructor(private readonly bucket: TokenBucket) {}

  /** Counts a chunk sent, and the most sent in the second that ends with it. */
  carried(bytes: number): void {
    const now = performance.now();
    this.lastByte = performance.timeOrigin + now;
    if (this.bytes === this.bytesBefore) this.firstByte = this.lastByte;
    this.sentAt.push(now);
    this.sentBefore.push(this.bytes);
    this.bytes += bytes;
    while (now - this.sentAt[this.first] > 1000) this.first++;
    this.peakSecond = Math.max(this.peakSecond, this.bytes - this.sentBefore[this.first]);
    if (this.first > 4096) {
      this.sentAt.splice(0, this.first);
      this.sentBefore.splice(0, this.first);
      this.first = 0;
    }
  }

  /** Call before changing a count. */
  settle(): void {
    const state = this.state();
    const now = wallMs();
    this.bucket.refill();
    const lost = this.bucket.lost - this.lostBefore;
    const bytes = this.bytes - this.bytesBefore;
    const last = this.spans.at(-1);
    if (last?.state === state) {
      last.end = now;
      if (bytes > 0) {
        if (last.bytes === 0) last.firstByte = this.firstByte;
        last.lastByte = this.lastByte;
      }
      last.bytes += bytes;
      last.lost += lost;
    } else {
      this.spans.push({ start: this.since, end: now, state, bytes, lost, firstByte: this.firstByte, lastByte: this.lastByte });
      // An hour of spans at most.
      while (this.spans.length > 1 && now - this.spans[0].end > 3_600_000) this.spans.shift();
    }
    this.lostBefore = this.bucket.lost;
    this.bytesBefore = this.bytes;
    this.since = now;
  }

  /**
   * What the link did between two wall-clock times (wallMs; all it remembers without them); a span
   * cut by the interval counts in proportion. The peak is the most sent in any second since the
   * previous call.
   */
  stats(from = -Infinity, to = Infinity): LinkStats {
    this.settle();
    const MiB = 1024 * 1024;
    const seconds = zeroes();
    const lost = zeroes();
    let bytes = 0;
    let firstByte: number | null = null;
    let lastByte: number | null = null;
    for (const span of this.spans) {
      const overlap = Math.min(span.end, to) - Math.max(span.start, from);
      if (overlap <= 0) continue;
      if (span.bytes > 0 && span.lastByte >= from && span.firstByte <= to) {
        firstByte ??= Math.max(span.firstByte, from);
        lastByte = Math.min(span.lastByte, to);
      }
      const share = span.end > span.start ? overlap / (span.end - span.start) : 1;
      seconds[span.state] += overlap / 1000;
      lost[span.state] += (span.lost * share) / MiB;
      bytes += span.bytes * share;
    }
    const peakSecondMiB = this.peakSecond / MiB;
    this.peakSecond = 0;
    const edge = (t: number | null, base: number) => (t === null || !Number.isFinite(base) ? null : Math.abs(t - base) / 1000);
    return { bytes, seconds, lostMiB: lost, peakSecondMiB, firstByteS: edge(firstByte, from), afterLastByteS: edge(lastByte, to) };
  }

  private state(): LinkState {
    if (this.onBucket > 0) return "limited";
    if (this.onReceiver > 0) return "receiver";
    if (this.onHub > 0) return "hub";
    return this.open > 0 ? "quiet" : "idle";
  }
}

function zeroes(): Record<LinkState, number> {
  return { limited: 0, receiver: 0, hub: 0, quiet: 0, idle: 0 };
}

export interface LinkOptions {
  /**
   * Bytes per read from the hub, into buffers the link keeps and reuses once the client has
   * them; 0: Node's own reads ('data' events, a new 64 KiB buffer each).
   */
  readBytes?: number;
}

/** Reads of 256 KiB into reused buffers: a quarter of the reads of Node's own and no garbage per read. */
const READ_BYTES = 256 * 1024;

/** Buffers for reads from the hub, handed back once written to a client. */
class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly size: number, private readonly keep = 64) {}

  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  put(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Starts one listener per route, all on one bucket of `mibps` MiB/s toward the clients. */
export async function startLink(routes: LinkRoute[], mibps: number, options: LinkOptions = {}): Promise<{ stop(): Promise<void>; stats(from?: number, to?: number): LinkStats }> {
  const bucket = new TokenBucket(mibps * 1024 * 1024);
  const meter = new LinkMeter(bucket);
  const readBytes = options.readBytes ?? READ_BYTES;
  const pool = readBytes > 0 ? new BufferPool(readBytes) : null;
  const servers = routes.map((route) =>
    net.createServer((client) => {
      client.setNoDelay(true);
      meter.settle();
      meter.open++;
      let asked = false;
      let closed = false;
      let onReceiver = false;
      // A client that closes never drains.
      const receiverDone = () => {
        if (!onReceiver) return;
        meter.settle();
        meter.onReceiver--;
        onReceiver = false;
      };
      const ask = (value: boolean) => {
        if (asked === value || closed) return;
        meter.settle();
        meter.onHub += value ? 1 : -1;
        asked = value;
      };
      /** Sends one chunk on to the client; false when reading must wait (for the bucket, the client, or both). */
      const carry = (chunk: Buffer, written?: () => void): boolean => {
        ask(false);
        meter.carried(chunk.length);
        const flowing = client.write(chunk, written);
        const paid = bucket.take(chunk.length);
        if (flowing && paid) return true;
        meter.settle();
        if (!flowing) meter.onReceiver++;
        if (!paid) meter.onBucket++;
        let waits = (flowing ? 0 : 1) + (paid ? 0 : 1);
        const resume = () => {
          if (--waits === 0 && !upstream.destroyed) upstream.resume();
        };
        if (!flowing) {
          onReceiver = true;
          client.once("drain", () => {
            receiverDone();
            resume();
          });
        }
        if (!paid) {
          bucket.whenPaid(() => {
            meter.settle();
            meter.onBucket--;
            resume();
          });
        }
        return false;
      };
      const upstream = pool
        ? net.connect({
            port: route.target.port,
            host: route.target.host,
            // Node asks for the next buffer after each read; the last one goes back to the pool once the client has it.
            onread: {
              buffer: () => pool.get(),
              callback: (n: number, buffer: Uint8Array) => carry(Buffer.from(buffer.buffer, buffer.byteOffset, n), () => pool.put(buffer as Buffer)),
            },
          })
        : net.connect(route.target.port, route.target.host);
      upstream.setNoDelay(true);
      if (!pool) {
        upstream.on("data", (chunk: Buffer) => {
          if (!carry(chunk)) upstream.pause();
        });
      }
      // Requests go up unshaped; they are small.
      client.pipe(upstream);
      client.on("data", () => ask(true));
      upstream.on("end", () => client.end());
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close);
      upstream.on("error", close);
      client.on("close", () => {
        close();
        ask(false);
        receiverDone();
        if (closed) return;
        closed = true;
        meter.settle();
        meter.open--;
      });
      upstream.on("close", () => (client.writableFinished ? undefined : client.destroySoon()));
    }),
  );
  await Promise.all(servers.map((server, i) => new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(routes[i].listenPort, "127.0.0.1", () => resolve());
  })));
  return {
    stats: (from, to) => meter.stats(from, to),
    stop: () => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined),
  };
}

/** "limited 91%, receiver 6% (lost 2.1 MiB), hub 2%, quiet 1% (lost 0.4 MiB)": the states that took time or lost capacity. */
export function formatLinkStats(stats: LinkStats): string {
  const total = STATES.reduce((sum, s) => sum + stats.seconds[s], 0) || 1;
  const edges = stats.firstByteS === null || stats.afterLastByteS === null ? "" : `first byte at ${stats.firstByteS.toFixed(2)} s, last ${stats.afterLastByteS.toFixed(2)} s before the end; `;
  return edges + STATES.filter((s) => stats.seconds[s] / total >= 0.005 || stats.lostMiB[s] >= 0.05)
    .map((s) => `${s} ${((100 * stats.seconds[s]) / total).toFixed(0)}%${stats.lostMiB[s] >= 0.05 ? ` (lost ${stats.lostMiB[s].toFixed(1)} MiB)` : ""}`)
    .join(", ");
}
