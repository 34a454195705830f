import type { VerifiableFile, Verifier, VerifierContext, VerifierReport } from "./verifier";

/** Extensions PyTorch and friends save with pickle, which can run code when loaded. */
const PICKLE_EXTENSIONS = [".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"];
const HEADER_BYTES = 4;

export type PicklePolicyMode = "warn" | "reject";

/** What the first bytes say: a raw pickle (protocol 2+), a torch.save zip archive (a pickle inside), or neither. */
export function pickleKind(head: Buffer): "pickle" | "torch-zip" | null {
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return "pickle";
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return "torch-zip";
  return null;
}

const directoryOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "");
const extensionOf = (path: string) => {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.includes(".") ? name.slice(name.lastIndexOf(".")).toLowerCase() : "";
};

/**
 * Flags pickle-format weights that a safetensors file in the same directory makes unnecessary
 * (the usual `pytorch_model.bin` next to `model.safetensors`): loading them can run arbitrary
 * code, and the safe copy is right there. "warn" records them; "reject" refuses the revision.
 * A pickle without a safetensors twin is left alone: it may be the only form the model has.
 */
export class PicklePolicyVerifier implements Verifier {
  readonly name = "pickle-policy";

  constructor(private readonly mode: PicklePolicyMode) {}

  async verify(files: readonly VerifiableFile[], ctx: VerifierContext): Promise<VerifierReport> {
    const withSafetensors = new Set(files.filter((f) => extensionOf(f.path) === ".safetensors").map((f) => directoryOf(f.path)));
    const candidates = files.filter((f) => PICKLE_EXTENSIONS.includes(extensionOf(f.path)) && withSafetensors.has(directoryOf(f.path)));
    const flagged: Array<{ key: string; value: string }> = [];
    for (const file of candidates) {
      const kind = Number(file.size) >= 2 ? pickleKind(await ctx.readRange(file, 0, HEADER_BYTES - 1)) : null;
      if (kind) flagged.push({ key: file.path, value: `${kind === "pickle" ? "pickle" : "torch zip archive (pickle inside)"}; a safetensors file sits in the same directory` });
    }
    const refused = this.mode === "reject" && flagged.length > 0;
    return {
      success: !refused,
      scannedCount: candidates.length,
      infectedCount: flagged.length,
      entries: [{ key: "mode", value: this.mode }, ...flagged],
      error: refused ? `pickle files next to safetensors twins are refused: ${flagged.map((f) => f.key).join(", ")}` : null,
    };
  }
}
