import { LinkSigner, type LinkClaims } from "../../src/storage/link-signer";

/* Filesystem links are checked in one place, against the signer's clock: moved here, never waited for. */

const claims: LinkClaims = { store: "ns-1", key: "org/model/main/config.json", op: "get", exp: 1_800_000_000 };

describe("a signed filesystem link", () => {
  let now = 0;
  const signer = new LinkSigner("a-link-signing-secret-for-tests", () => now);
  const link = (overrides: Partial<Record<keyof LinkClaims | "sig", unknown>> = {}) => ({ ...claims, exp: String(claims.exp), sig: signer.sign(claims), ...overrides });

  it("is valid until the last millisecond before its expiry, by the signer's clock", () => {
    now = claims.exp * 1000 - 1;
    expect(signer.verify(link())).toEqual({ ok: true, claims });
    now = claims.exp * 1000;
    expect(signer.verify(link())).toEqual({ ok: false, reason: "expired" });
  });

  it("is refused when any claim was changed, before its expiry is looked at", () => {
    now = claims.exp * 1000 + 60_000;
    for (const changed of [{ store: "ns-2" }, { key: "org/model/main/other.json" }, { op: "upload" }, { exp: String(claims.exp + 3600) }]) {
      expect([changed, signer.verify(link(changed))]).toEqual([changed, { ok: false, reason: "bad-signature" }]);
    }
  });

  it.each([
    ["an expiry that is not a number", { exp: "soon" }],
    ["a signature that is not hex", { sig: "z".repeat(64) }],
    ["an unknown operation", { op: "delete" }],
    ["a PUT link, which no longer exists (uploads go through the service)", { op: "put" }],
    ["a missing store", { store: undefined }],
  ])("is malformed with %s", (_what, changed) => {
    expect(signer.verify(link(changed))).toEqual({ ok: false, reason: "malformed" });
  });

  it("answers the real time by default", () => {
    const before = Date.now();
    const read = new LinkSigner("a-link-signing-secret-for-tests").now();
    expect(read).toBeGreaterThanOrEqual(before);
    expect(read).toBeLessThanOrEqual(Date.now());
  });
});
