/*
 * @huggingface/hub refuses an access token that does not start with "hf_". On the /hf routes a
 * client may therefore send `Bearer hf_<registry token>`: the prefix is dropped before the
 * token is verified as any other. Registry tokens are JWTs ("eyJ…"), so nothing is ambiguous.
 */
export const HF_TOKEN_PREFIX = "hf_";

export function toHfToken(token: string): string {
  return `${HF_TOKEN_PREFIX}${token}`;
}

/** The Authorization header with an `hf_` token's prefix dropped; anything else unchanged. */
export function fromHfAuthorization(header: unknown): unknown {
  return typeof header === "string" ? header.replace(/^(\s*Bearer\s+)hf_/i, "$1") : header;
}
