/**
 * A start-up failure whose message already says what is wrong and what to do: printed as it
 * is, without a stack trace, by the process entry points.
 */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

/** What an entry point prints after "failed to start: ". */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof StartupError) return error.message;
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}

/** An error's message, or its parts' (Node reports a failed connect to several addresses as an AggregateError with none). */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const parts = error instanceof AggregateError ? error.errors.map(errorMessage).filter(Boolean) : [];
  return parts.length ? parts.join("; ") : ((error as NodeJS.ErrnoException).code ?? error.name);
}
