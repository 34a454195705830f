import { unsafeModelIdReason, unsafePathReason, unsafeVersionReason } from "../../src/revision/safe-path";

/*
 * A file path from an upstream repository becomes a storage key ({name}/{version}/{path}), a
 * filesystem path under the storage's base directory, an S3 key and a download URL. It is kept
 * only if every one of those names the same file, inside the revision's folder, and a person
 * reading it sees what it is.
 */

const SAFE: Array<[string, string]> = [
  ["a file at the root", "config.json"],
  ["a nested file", "tokenizer/vocab.txt"],
  ["a dotfile", ".gitattributes"],
  ["dots inside a name", "model.fp16..safetensors"],
  ["a segment of three dots", ".../x"],
  ["spaces", "my model/weights 1.bin"],
  ["a percent sign that encodes nothing", "100%.txt"],
  ["an encoded space", "a%20b.txt"],
  ["an encoded dot inside a name", "model%2Ebin"],
  ["a colon after the first letter", "ab:c/x.bin"],
  ["a tilde", "~/x.bin"],
  ["non-Latin letters", "модель/权重.bin"],
  ["an emoji", "🤗/weights.bin"],
  ["a decomposed accent", "cafe\u0301.txt"],
  ["a path of exactly 1024 bytes", `${"a/".repeat(511)}ab`],
  ["a segment of exactly 255 bytes", "é".repeat(127) + "a"],
];

const UNSAFE: Array<[string, string, RegExp]> = [
  // Separators and segments
  ["an empty path", "", /^empty path$/],
  ["a backslash", "a\\b.bin", /backslash/],
  ["a backslash at the start", "\\etc\\passwd", /backslash/],
  ["a '.' segment", "a/./b", /'\.' segment/],
  ["a '..' segment", "a/../../etc/passwd", /'\.\.' segment/],
  ["a path that is '..'", "..", /'\.\.' segment/],
  ["an empty segment", "a//b", /'\(empty\)' segment/],
  ["a trailing slash", "a/b/", /'\(empty\)' segment/],
  // Percent-encoding, which anything that decodes the key once would read as another path
  ["an encoded slash", "a%2Fb", /percent-encoded/],
  ["an encoded slash in lower case", "a%2fb", /percent-encoded/],
  ["an encoded backslash", "a%5Cb", /percent-encoded/],
  ["an encoded '..' segment", "%2e%2e/etc/passwd", /percent-encoded/],
  ["an encoded '.' segment", "a/%2E/b", /percent-encoded/],
  ["a half-encoded '..' segment", ".%2e/x", /percent-encoded/],
  ["a doubly encoded slash", "a%252Fb", /percent-encoded/],
  ["an encoded NUL", "a%00b", /percent-encoded/],
  // Unicode look-alikes and what normalisation makes of them
  ["a fullwidth solidus (U+FF0F)", "a\uFF0Fb", /looks like a slash|normali[sz]ation/],
  ["a division slash (U+2215)", "a\u2215b", /looks like a slash/],
  ["a fraction slash (U+2044)", "a\u2044b", /looks like a slash/],
  ["a big solidus (U+29F8)", "a\u29F8b", /looks like a slash/],
  ["a fullwidth reverse solidus (U+FF3C)", "a\uFF3Cb", /looks like a slash|normali[sz]ation/],
  ["a small reverse solidus (U+FE68)", "a\uFE68b", /looks like a slash|normali[sz]ation/],
  ["a set minus (U+2216)", "a\u2216b", /looks like a slash/],
  ["a one-dot leader segment (U+2024)", "a/\u2024/b", /normali[sz]ation/],
  ["a two-dot leader segment (U+2025)", "\u2025/etc/passwd", /normali[sz]ation/],
  ["fullwidth full stops as '..' (U+FF0E)", "\uFF0E\uFF0E/x", /normali[sz]ation/],
  ["a fullwidth percent-encoded slash", "a\uFF05\uFF12\uFF26b", /percent-encoded|normali[sz]ation/],
  // Invisible characters
  ["NUL", "a\u0000b", /control character/],
  ["a newline", "a\nb.bin", /control character/],
  ["a tab", "a\tb.bin", /control character/],
  ["DEL", "a\u007fb", /control character/],
  ["a C1 control (U+0085)", "a\u0085b", /control character/],
  ["a right-to-left override", "evil\u202Egpj.exe", /invisible/],
  ["a zero-width space", "con\u200Bfig.json", /invisible/],
  ["a byte-order mark", "\uFEFFconfig.json", /invisible/],
  ["an unpaired surrogate", "a\uD800b", /surrogate/],
  // Absolute paths and drives
  ["an absolute path", "/etc/passwd", /absolute/],
  ["a Windows drive with a slash", "C:/Windows/win.ini", /drive/],
  ["a Windows drive with a backslash", "c:\\x", /drive|backslash/],
  ["a Windows drive-relative path", "D:x.bin", /drive/],
  ["a UNC path", "//server/share", /absolute/],
  // Lengths, in bytes as S3 and filesystems count them
  ["a path over 1024 bytes", `${"a/".repeat(511)}abc`, /longer than 1024 bytes/],
  ["a path of 1024 characters over 1024 bytes", "é".repeat(600), /longer than 1024 bytes/],
  ["a segment over 255 bytes", `dir/${"a".repeat(256)}`, /segment longer than 255 bytes/],
  ["a segment of 128 two-byte letters", "é".repeat(128), /segment longer than 255 bytes/],
];

describe("unsafePathReason", () => {
  it.each(SAFE)("keeps %s", (_what, path) => {
    expect(unsafePathReason(path)).toBeNull();
  });

  it.each(UNSAFE)("refuses %s", (_what, path, reason) => {
    expect(unsafePathReason(path)).toMatch(reason);
  });
});

/*
 * Artifact names and versions become the folders of every key, `{name}/{version}/`: a model id is
 * one or two hub names, a version exactly one safe segment.
 */

describe("unsafeModelIdReason", () => {
  it.each([
    ["an org and a name", "org/model"],
    ["a legacy id of one name", "gpt2"],
    ["dots, dashes and underscores inside", "my_org/Llama-3.1-8B_instruct"],
    ["an underscore at either end", "_org/model_"],
    ["names of exactly 96 characters", `${"a".repeat(96)}/${"b".repeat(96)}`],
  ])("keeps %s", (_what, id) => {
    expect(unsafeModelIdReason(id)).toBeNull();
  });

  it.each([
    ["an empty id", "", /empty/],
    ["a path out of the store", "../../../../tmp/x", /more than one '\/'/],
    ["a '..' name", "org/..", /not a hub name/],
    ["a name starting with '.' (a store's .staging/, .uploads/, .tmp/)", ".staging/x", /not a hub name/],
    ["a name ending with '-'", "org/model-", /not a hub name/],
    ["'..' inside a name", "org/a..b", /'--' or '\.\.'/],
    ["'--' inside a name", "org/a--b", /'--' or '\.\.'/],
    ["a third segment", "org/model/main", /more than one '\/'/],
    ["an empty org", "/model", /not a hub name/],
    ["a space", "org/my model", /not a hub name/],
    ["a percent-encoded slash", "org/a%2Fb", /not a hub name/],
    ["a non-ASCII letter", "org/modèle", /not a hub name/],
    ["a name of 97 characters", `org/${"a".repeat(97)}`, /not a hub name/],
  ])("refuses %s", (_what, id, reason) => {
    expect(unsafeModelIdReason(id)).toMatch(reason);
  });
});

describe("unsafeVersionReason", () => {
  it.each([["main"], ["v1.0"], ["release-2024_01"], ["a..b"], [".hidden"], ["40 hex digits of a commit".replace(/ /g, "-")]])("keeps %s", (version) => {
    expect(unsafeVersionReason(version)).toBeNull();
  });

  it.each([
    ["'..'", "..", /'\.\.' segment in version/],
    ["'../..'", "../..", /'\/' in version/],
    ["a branch with a '/' (it would nest one version in another)", "feature/x", /'\/' in version/],
    ["a pull request ref", "refs/pr/1", /'\/' in version/],
    ["'.'", ".", /'\.' segment in version/],
    ["an encoded '..'", "%2e%2e", /percent-encoded/],
    ["a backslash", "a\\b", /backslash in version/],
    ["a Windows drive", "C:evil", /drive in version/],
    ["a control character", "main\n", /control character in version/],
    ["an invisible character", "ma\u200Bin", /invisible/],
    ["an empty version", "", /empty version/],
    ["a version over 255 bytes", "v".repeat(256), /longer than 255 bytes/],
  ])("refuses %s", (_what, version, reason) => {
    expect(unsafeVersionReason(version)).toMatch(reason);
  });
});
