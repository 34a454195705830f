import { AppError } from "../common/errors";
import { isTransientNetworkError, UpstreamTimeoutError } from "../upstream/http";

/** A failure no retry can fix (checksum or size mismatch, gated, missing): the revision goes FAILED at once. */
export class PermanentImportError extends Error {
  override readonly name = "PermanentImportError";
  readonly retryable = false;
}

/**
 * The revision left the statuses this job drives (it was cancelled or failed by someone else,
 * possibly in another process), or the queue cancelled the job here.
 */
export class ImportCancelledError extends Error {
  override readonly name = "ImportCancelledError";
}

/** This process is shutting down: the job goes back to the queue and resumes from staging. */
export class ImportInterruptedError extends Error {
  override readonly name = "ImportInterruptedError";
}

/**
 * Whether another try may succeed. Upstream errors say so themselves (HubError and
 * ReservoirImportError carry `retryable`); connection failures and timeouts are transient;
 * anything unknown is treated as transient, so the job's bounded retries decide.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentImportError) return false;
  // A lifecycle CONFLICT means someone else moved the revision: not ours to retry.
  if (error instanceof AppError) return false;
  const flag = (error as { retryable?: unknown } | null)?.retryable;
  if (typeof flag === "boolean") return flag;
  return true;
}

/** Transient in the narrow sense a running transfer retries in place: the connection broke or stalled. */
export function isTransientTransferError(error: unknown): boolean {
  if (error instanceof PermanentImportError) return false;
  const flag = (error as { retryable?: unknown } | null)?.retryable;
  if (typeof flag === "boolean") return flag;
  return error instanceof UpstreamTimeoutError || isTransientNetworkError(error);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
