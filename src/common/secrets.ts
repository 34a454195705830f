/** Secrets are write-only: what a client reads back is "****" plus at most the last 4 characters. */
export function maskSecret(secret: string | null | undefined): string | null {
  if (secret == null || secret === "") return null;
  const tail = secret.length >= 12 ? secret.slice(-4) : "";
  return `****${tail}`;
}
