import { randomBytes } from "node:crypto";
import { SecretKeyring } from "../../src/common/secrets";

/*
 * Before the SealSecrets migration every secret was stored in clear, and a secret in clear may
 * start with "v2:": only a value that is one of the keyring's sealed values counts as sealed.
 */

const keyring = new SecretKeyring([{ id: "k2", key: randomBytes(32) }, { id: "auth", key: randomBytes(32) }]);
const PURPOSE = "object_storages.secret_key";

describe("telling a sealed value from a secret in clear", () => {
  it("takes a value the keyring sealed, with its current or another listed key, as sealed", () => {
    expect(keyring.holdsSealed(keyring.seal("s3-secret", PURPOSE), PURPOSE)).toBe(true);
    const previous = new SecretKeyring([keyring.keys[1]]);
    expect(keyring.holdsSealed(previous.seal("s3-secret", PURPOSE), PURPOSE)).toBe(true);
    expect(keyring.holdsSealed(keyring.seal("", PURPOSE), PURPOSE)).toBe(true);
  });

  it.each([
    ["no payload", "v2:k2:"],
    ["no key id", "v2::AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a key the keyring does not list", "v2:k9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a payload that is not base64url", "v2:k2:not base64url+/="],
    ["a payload shorter than an iv and a tag", "v2:k2:AAAAAAAA"],
    ["a non-canonical base64url payload", `v2:k2:${"A".repeat(40)}B`],
    ["a third field", "v2:k2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:x"],
    ["a well-formed payload that does not open", `v2:k2:${randomBytes(40).toString("base64url")}`],
    ["a short secret", "v2:x:y"],
  ])("takes a value starting with v2: with %s as a secret in clear", (_what, value) => {
    expect(keyring.holdsSealed(value, PURPOSE)).toBe(false);
  });

  it("takes a value sealed for another column as a secret in clear of this one", () => {
    expect(keyring.holdsSealed(keyring.seal("token", "huggingface_registries.token"), PURPOSE)).toBe(false);
  });
});
