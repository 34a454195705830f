import type { VerificationResultData } from "../../../revision/revision.entity";

/** A file of the revision, in its final place. */
export interface VerifiableFile {
  path: string;
  size: string;
  sha256: string | null;
  storageKey: string;
}

export interface VerifierContext {
  artifactName: string;
  version: string;
  /** Bytes [start, end] (inclusive, clamped to the file) of a placed file. */
  readRange(file: VerifiableFile, start: number, end: number): Promise<Buffer>;
  signal: AbortSignal;
}

export interface VerifierReport {
  /** false refuses the revision: it goes FAILED. */
  success: boolean;
  scannedCount: number;
  /** Files the verifier objects to (refused, or only reported when success stays true). */
  infectedCount: number;
  entries: Array<{ key: string; value: string }>;
  /** Why the revision was refused, or why the verifier could not run. */
  error?: string | null;
}

/**
 * A check that runs on every imported revision once its files are in place (VERIFYING). A
 * verifier that throws refuses the revision too: an unverified revision must not become AVAILABLE.
 */
export interface Verifier {
  readonly name: string;
  verify(files: readonly VerifiableFile[], ctx: VerifierContext): Promise<VerifierReport>;
}

/** Runs every verifier and returns the stored result plus one message per refusal. */
export async function runVerifiers(
  verifiers: readonly Verifier[],
  files: readonly VerifiableFile[],
  ctx: VerifierContext,
  now: () => number = Date.now,
): Promise<{ result: VerificationResultData; refusals: string[] }> {
  const result: VerificationResultData = { verifiers: [] };
  const refusals: string[] = [];
  for (const verifier of verifiers) {
    ctx.signal.throwIfAborted();
    const started = now();
    let report: VerifierReport;
    try {
      report = await verifier.verify(files, ctx);
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      report = { success: false, scannedCount: 0, infectedCount: 0, entries: [], error: `the verifier failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    result.verifiers.push({
      name: verifier.name,
      result: {
        success: report.success,
        infectedCount: report.infectedCount,
        scannedAt: new Date(started).toISOString(),
        scanTime: (now() - started) / 1000,
        scannedCount: report.scannedCount,
        metadata: { entries: report.entries },
        error: report.error ?? null,
      },
    });
    if (!report.success) refusals.push(`${verifier.name}: ${report.error ?? "refused"}`);
  }
  return { result, refusals };
}
