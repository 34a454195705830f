import { SecretBox } from "../../src/keypair/secret-box";

describe("SecretBox", () => {
  const box = new SecretBox("server-secret-0123456789abcdef0123456789", "test/v1");

  it("opens what it sealed, and seals the same text differently each time", () => {
    const a = box.seal("the secret", "AKCONTEXT");
    const b = box.seal("the secret", "AKCONTEXT");
    expect(a).not.toBe(b);
    expect(a).not.toContain("the secret");
    expect(box.open(a, "AKCONTEXT")).toBe("the secret");
    expect(box.open(b, "AKCONTEXT")).toBe("the secret");
  });

  it("refuses a sealed value moved to another context", () => {
    const sealed = box.seal("the secret", "AKFIRST");
    expect(() => box.open(sealed, "AKSECOND")).toThrow();
  });

  it("refuses a tampered value", () => {
    const sealed = box.seal("the secret", "ctx");
    const raw = Buffer.from(sealed.slice(3), "base64url");
    raw[raw.length - 1] ^= 1;
    expect(() => box.open(`v1.${raw.toString("base64url")}`, "ctx")).toThrow();
    expect(() => box.open("v2.abc", "ctx")).toThrow();
  });

  it("derives different keys from different labels and server secrets", () => {
    const sealed = box.seal("the secret", "ctx");
    expect(() => new SecretBox("server-secret-0123456789abcdef0123456789", "other/v1").open(sealed, "ctx")).toThrow();
    expect(() => new SecretBox("another-server-secret-0123456789abcdef", "test/v1").open(sealed, "ctx")).toThrow();
  });
});
