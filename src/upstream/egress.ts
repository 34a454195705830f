import dns from "node:dns";
import net from "node:net";
import { Agent, buildConnector, request as undiciRequest, type Dispatcher } from "undici";
import { ERRORS } from "../common/errors";
import { checkHttpUrl } from "../common/validation";

/**
 * Where upstream connections may go. Every connection to a registry, a CDN a registry redirects
 * to, or a presigned URL a Reservoir peer hands out goes through `dispatcher`, whose connector
 * checks the address it is about to connect to: an IP literal as written, a name once it is
 * resolved (every address it resolves to). Checking the resolved address, at connect time, is
 * what a DNS name that changes its answer (rebinding) cannot get around.
 *
 * - Link-local, cloud metadata, unspecified, multicast and reserved addresses: always refused.
 * - Loopback and private ranges (RFC 1918, CGNAT, ULA, …): allowed by default, for local mirrors,
 *   Reservoir peers and hubs on the same network; refused with `privateNetworks: "deny"`,
 *   except the networks listed in `allowedPrivateNetworks`.
 * - Everything else (the public internet): allowed.
 */
export interface EgressOptions {
  privateNetworks: "allow" | "deny";
  /** With "deny": private networks (CIDRs or addresses) reachable all the same, e.g. a Reservoir peer's. */
  allowedPrivateNetworks?: readonly string[];
  /** How names are resolved (tests); dns.lookup by default. */
  lookup?: typeof dns.lookup;
}

/** A connection the egress policy refused; never worth another try. */
export class EgressRefusedError extends Error {
  override readonly name = "EgressRefusedError";
  readonly code = "EGRESS_REFUSED";
  readonly retryable = false;

  constructor(readonly address: string, readonly reason: string, host?: string) {
    const named = host && host !== address ? `${host} (${address})` : address;
    super(`refusing to connect to ${named}: ${reason}`);
  }
}

type Family = "ipv4" | "ipv6";

interface Range {
  address: string;
  prefix: number;
  family: Family;
  label: string;
}

const range = (cidr: string, label: string): Range => {
  const [address, prefix] = cidr.split("/");
  const family: Family = net.isIPv6(address) ? "ipv6" : "ipv4";
  return { address, prefix: Number(prefix ?? (family === "ipv6" ? 128 : 32)), family, label };
};

const METADATA = "a link-local or cloud metadata address, never reachable from here";
const SPECIAL = "not a unicast address";

const FORBIDDEN: Range[] = [
  range("169.254.0.0/16", METADATA),
  range("fe80::/10", METADATA),
  range("fd00:ec2::254/128", METADATA),
  range("100.100.100.200/32", METADATA),
  // "This network": connecting to 0.0.0.0 reaches the local host on Linux.
  range("0.0.0.0/8", SPECIAL),
  range("::/128", SPECIAL),
  range("224.0.0.0/4", SPECIAL),
  range("240.0.0.0/4", SPECIAL),
  range("ff00::/8", SPECIAL),
];

const PRIVATE: Range[] = [
  range("127.0.0.0/8", "loopback"),
  range("::1/128", "loopback"),
  range("10.0.0.0/8", "a private network"),
  range("172.16.0.0/12", "a private network"),
  range("192.168.0.0/16", "a private network"),
  range("100.64.0.0/10", "a private network (shared address space)"),
  range("198.18.0.0/15", "a private network (benchmarking)"),
  range("192.0.0.0/24", "a private network (protocol assignments)"),
  range("fc00::/7", "a private network (unique local)"),
  range("fec0::/10", "a private network (site-local)"),
  // Teredo hides its IPv4 endpoints; local-use NAT64 maps addresses of its own choosing.
  range("2001::/32", "a tunnel to an undisclosed address"),
  range("64:ff9b:1::/48", "a tunnel to an undisclosed address"),
];

/** Each range with a BlockList of its own, to name the one an address falls in. */
function matcher(ranges: readonly Range[]): (address: string, family: Family) => string | null {
  const lists = ranges.map((r) => {
    const list = new net.BlockList();
    list.addSubnet(r.address, r.prefix, r.family);
    return { list, label: r.label };
  });
  return (address, family) => lists.find(({ list }) => list.check(address, family))?.label ?? null;
}

const forbidden = matcher(FORBIDDEN);
const privateRange = matcher(PRIVATE);

/** An address without brackets and zone, in the family it belongs to; null when it is no IP address. */
function parseAddress(text: string): { address: string; family: Family } | null {
  const bare = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const version = net.isIP(bare);
  if (version === 4) return { address: bare, family: "ipv4" };
  if (version === 6) return { address: bare.toLowerCase(), family: "ipv6" };
  return null;
}

/** The 16 bytes of an IPv6 address (which net.isIPv6 accepted). */
function ipv6Bytes(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted[1].split(".").map(Number));
    text = text.slice(0, -dotted[1].length) + "0:0";
  }
  const [head, rest] = text.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":").filter((g) => g !== "").map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The IPv4 address an IPv6 one carries to the same host: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
 */
function embeddedIpv4(address: string): string | null {
  const b = ipv6Bytes(address);
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number) => b.slice(at, at + 4).join(".");
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zeros(0, 12) && !zeros(12, 15)) return v4(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return null;
}

export type AddressClass = { kind: "public" } | { kind: "private" | "forbidden"; label: string };

/** What an IP address (any spelling net.isIP accepts, with or without brackets) is, for the policy. */
export function classifyAddress(text: string): AddressClass | null {
  const parsed = parseAddress(text);
  if (!parsed) return null;
  const { address, family } = parsed;
  if (family === "ipv6") {
    const v4 = embeddedIpv4(address);
    if (v4 !== null) return classifyAddress(v4);
  }
  const metadata = forbidden(address, family);
  if (metadata !== null) return { kind: "forbidden", label: metadata };
  const internal = privateRange(address, family);
  if (internal !== null) return { kind: "private", label: internal };
  return { kind: "public" };
}

/** Whether a network list entry (`10.1.0.0/16`, `fd12::/64`, an address) is well formed. */
export function isNetwork(entry: string): boolean {
  const [address, prefix, extra] = entry.trim().split("/");
  const version = net.isIP(address ?? "");
  if (version === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** What an upstream request may say: method, headers, body, abort signal. */
export type UpstreamRequestOptions = Partial<Pick<Dispatcher.RequestOptions, "method" | "headers" | "body" | "signal">>;

export type LookupFunction = NonNullable<net.TcpNetConnectOpts["lookup"]>;

export class EgressPolicy {
  private readonly allowed: net.BlockList;
  private readonly resolve: typeof dns.lookup;
  private agent: Agent | null = null;

  constructor(readonly options: EgressOptions) {
    this.allowed = new net.BlockList();
    for (const entry of options.allowedPrivateNetworks ?? []) {
      if (!isNetwork(entry)) throw new Error(`not a network: ${JSON.stringify(entry)}`);
      const r = range(entry.trim(), "");
      this.allowed.addSubnet(r.address, r.prefix, r.family);
    }
    this.resolve = options.lookup ?? dns.lookup;
  }

  /** Why a connection to this IP address is refused; null when it may go ahead (or `address` is no IP address). */
  refusal(address: string, host?: string): EgressRefusedError | null {
    const found = classifyAddress(address);
    if (!found || found.kind === "public") return null;
    const bare = parseAddress(address)!;
    if (found.kind === "forbidden") return new EgressRefusedError(bare.address, `it is ${found.label}`, host);
    if (this.options.privateNetworks === "allow") return null;
    const v4 = bare.family === "ipv6" ? embeddedIpv4(bare.address) : null;
    if (this.allowed.check(v4 ?? bare.address, v4 ? "ipv4" : bare.family)) return null;
    return new EgressRefusedError(bare.address, `it is ${found.label}, and UPSTREAM_PRIVATE_NETWORKS does not allow it`, host);
  }

  /** The refusal of a URL whose host is an IP literal; names are checked when they are resolved. */
  refusalOfUrl(url: URL): EgressRefusedError | null {
    return this.refusal(url.hostname);
  }

  /** dns.lookup that fails when any address the name resolves to is refused: the connection then never starts. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      for (const { address } of addresses) {
        const refused = this.refusal(address, hostname);
        if (refused) return callback(refused, "", 0);
      }
      if (options.all) (callback as unknown as (e: null, all: dns.LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };

  /** The dispatcher every upstream request goes through: its connector refuses what the policy refuses. */
  get dispatcher(): Dispatcher {
    if (!this.agent) {
      const connect = buildConnector({ lookup: this.lookup });
      this.agent = new Agent({
        connect: (options, callback) => {
          // An IP literal is never looked up: check it as written.
          const refused = this.refusal(options.hostname);
          if (refused) return callback(refused, null);
          connect(options, callback);
        },
      });
    }
    return this.agent;
  }

  /**
   * A request through the dispatcher, with undici's own `request`: the body is a Node stream,
   * without the web streams (and the copy of every chunk) that `fetch` adds. It never follows a
   * redirect: http.ts does, hop by hop.
   */
  request(url: string | URL, options: UpstreamRequestOptions = {}): Promise<Dispatcher.ResponseData> {
    return undiciRequest(url, { ...options, dispatcher: this.dispatcher });
  }

  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = null;
    await agent?.close();
  }
}

/** The refusal somewhere in an error's causes (undici may wrap what the connector failed with). */
export function egressRefusal(error: unknown): EgressRefusedError | null {
  for (let e: unknown = error, depth = 0; depth < 5 && typeof e === "object" && e !== null; depth++) {
    // By name: undici's errors come from Node's own realm under Jest.
    if ((e as { name?: unknown }).name === "EgressRefusedError") return e as EgressRefusedError;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * A registry URL as an admin gives it: http(s) (checkHttpUrl), and not naming an address the
 * policy refuses in any spelling the URL parser understands (2130706433, 0x7f.1,
 * [::ffff:127.0.0.1]). A name is checked again whenever it is resolved.
 */
export function checkUpstreamUrl(value: string, field: string, egress: EgressPolicy): string {
  checkHttpUrl(value, field);
  const refused = egress.refusalOfUrl(new URL(value));
  if (refused) throw ERRORS.badInput(`${field} names an address upstream connections may not go to: ${refused.message}`, { field });
  return value;
}

/** For clients built without one (tests, tools): private networks allowed, metadata never. */
export const DEFAULT_EGRESS = new EgressPolicy({ privateNetworks: "allow" });
