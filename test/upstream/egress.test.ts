import { createServer, type Server } from "node:http";
import { classifyAddress, EgressPolicy, egressRefusal, isNetwork } from "../../src/upstream/egress";
import { closeServer, listenOnLoopback } from "../support/loopback";

const allow = new EgressPolicy({ privateNetworks: "allow" });
const deny = new EgressPolicy({ privateNetworks: "deny" });

/** The address the URL parser leaves of a spelling, as a connection would see it. */
const hostOf = (spelling: string) => new URL(`http://${spelling}/`).hostname;

describe("the egress policy's address classes", () => {
  it.each([
    ["169.254.169.254", "forbidden"],
    ["169.254.170.2", "forbidden"],
    ["[fe80::1]", "forbidden"],
    ["[fd00:ec2::254]", "forbidden"],
    ["100.100.100.200", "forbidden"],
    ["0.0.0.0", "forbidden"],
    ["[::]", "forbidden"],
    ["224.0.0.1", "forbidden"],
    ["255.255.255.255", "forbidden"],
    ["127.0.0.1", "private"],
    ["127.8.9.10", "private"],
    ["[::1]", "private"],
    ["10.1.2.3", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.10", "private"],
    ["100.64.0.1", "private"],
    ["[fd12:3456::1]", "private"],
    ["8.8.8.8", "public"],
    ["[2606:4700::1111]", "public"],
    ["172.32.0.1", "public"],
  ])("classifies %s as %s", (address, kind) => {
    expect(classifyAddress(address)?.kind).toBe(kind);
  });

  it.each([
    // Decimal, hexadecimal, octal and short forms all come out of the URL parser as 127.0.0.1.
    ["2130706433", "private"],
    ["0x7f.1", "private"],
    ["0177.0.0.1", "private"],
    ["127.1", "private"],
    ["0xa9fea9fe", "forbidden"],
    ["2852039166", "forbidden"],
    // IPv6 forms that carry an IPv4 address reach that address.
    ["[::ffff:127.0.0.1]", "private"],
    ["[::ffff:a9fe:a9fe]", "forbidden"],
    ["[::ffff:169.254.169.254]", "forbidden"],
    ["[64:ff9b::169.254.169.254]", "forbidden"],
    ["[2002:a9fe:a9fe::1]", "forbidden"],
    ["[::127.0.0.1]", "private"],
  ])("sees through the spelling %s (%s)", (spelling, kind) => {
    expect(classifyAddress(hostOf(spelling))?.kind).toBe(kind);
  });

  it("is not fooled by names: they are no addresses until they are resolved", () => {
    expect(classifyAddress("metadata.google.internal")).toBeNull();
    expect(classifyAddress("localhost")).toBeNull();
  });

  it("accepts networks as addresses or CIDRs, and nothing else", () => {
    expect(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"].every(isNetwork)).toBe(true);
    expect(["10.0.0.0/33", "example.com", "10.0.0.0/8/1", "fd00::/129", ""].some(isNetwork)).toBe(false);
  });
});

describe("the egress policy's decisions", () => {
  it("always refuses link-local and metadata addresses, and allows the public internet", () => {
    for (const policy of [allow, deny]) {
      expect(policy.refusal("169.254.169.254")?.message).toMatch(/refusing to connect to 169\.254\.169\.254: it is a link-local or cloud metadata address/);
      expect(policy.refusal("8.8.8.8")).toBeNull();
    }
  });

  it("allows loopback and private ranges by default, and refuses them when private networks are denied", () => {
    expect(allow.refusal("127.0.0.1")).toBeNull();
    expect(allow.refusal("10.0.0.5")).toBeNull();
    expect(deny.refusal("127.0.0.1")?.message).toMatch(/it is loopback, and UPSTREAM_PRIVATE_NETWORKS does not allow it/);
    expect(deny.refusal(hostOf("[::ffff:10.0.0.5]"))?.message).toMatch(/a private network/);
  });

  it("lets listed private networks through a deny, but never a metadata address", () => {
    const peers = new EgressPolicy({ privateNetworks: "deny", allowedPrivateNetworks: ["10.1.0.0/16", "127.0.0.2", "169.254.0.0/16"] });
    expect(peers.refusal("10.1.2.3")).toBeNull();
    expect(peers.refusal("127.0.0.2")).toBeNull();
    expect(peers.refusal(hostOf("[::ffff:10.1.9.9]"))).toBeNull();
    expect(peers.refusal("10.2.0.1")).not.toBeNull();
    expect(peers.refusal("127.0.0.1")).not.toBeNull();
    expect(peers.refusal("169.254.169.254")).not.toBeNull();
  });

  it("checks every address a name resolves to, so a name that also answers with an internal one is refused", async () => {
    const rebinding = new EgressPolicy({
      privateNetworks: "deny",
      lookup: ((_host: string, _options: unknown, callback: (e: null, all: Array<{ address: string; family: number }>) => void) =>
        callback(null, [{ address: "8.8.8.8", family: 4 }, { address: "10.0.0.1", family: 4 }])) as never,
    });
    const resolved = await new Promise<{ error: Error | null }>((resolve) => rebinding.lookup("mirror.example", { all: true }, (error) => resolve({ error })));
    expect(resolved.error?.message).toMatch(/refusing to connect to mirror\.example \(10\.0\.0\.1\)/);
  });
});

describe("connections through the policy's dispatcher", () => {
  let trap: Server;
  let trapUrl: string;
  let connections = 0;

  beforeAll(async () => {
    trap = createServer((_req, res) => res.end("internal secret"));
    trap.on("connection", () => connections++);
    trapUrl = await listenOnLoopback(trap);
  });
  afterAll(() => closeServer(trap));
  beforeEach(() => {
    connections = 0;
  });

  const requestThrough = (policy: EgressPolicy, url: string) =>
    policy.request(url).then(
      (response) => ({ response, error: null }),
      (error: unknown) => ({ response: null, error }),
    );

  it("connects to loopback by default", async () => {
    const { response } = await requestThrough(allow, trapUrl);
    expect(await response?.body.text()).toBe("internal secret");
    expect(connections).toBe(1);
  });

  it("refuses loopback under deny before a connection is made, by address and by name", async () => {
    const port = new URL(trapUrl).port;
    for (const url of [trapUrl, `http://localhost:${port}/`, `http://2130706433:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`]) {
      const { error } = await requestThrough(deny, url);
      expect(egressRefusal(error)?.message).toMatch(/refusing to connect to .*loopback/);
    }
    expect(connections).toBe(0);
  });

  it("refuses a metadata address without trying to reach it", async () => {
    const { error } = await requestThrough(allow, "http://169.254.169.254/latest/meta-data/");
    expect(egressRefusal(error)).toMatchObject({ address: "169.254.169.254", retryable: false });
  });
});
