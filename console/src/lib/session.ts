/*
 * The signed-in token. It lives in sessionStorage: gone with the tab, never in a cookie the
 * browser would send by itself, never in the URL. The role is read from the token's claims only
 * to decide which actions to show; the server checks every request on its own.
 */

export type Role = "superadmin" | "admin" | "user";

export interface Session {
  token: string;
  /** null for a token without a role claim (a key pair's): the console then shows reading only. */
  role: Role | null;
  sub: string | null;
  /** Milliseconds since the epoch, or null when the token does not say. */
  expiresAt: number | null;
}

const STORAGE_KEY = "artifact-registry.token";
const ROLES: readonly string[] = ["superadmin", "admin", "user"];

function decodeClaims(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The session a token stands for, or an explanation of why it is not a token at all. */
export function sessionOf(raw: string): Session | { problem: string } {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) return { problem: "That is not a token: a token has three parts separated by dots." };
  const claims = decodeClaims(token);
  if (!claims) return { problem: "That token cannot be read: its middle part is not base64url JSON." };
  const exp = typeof claims.exp === "number" ? claims.exp * 1000 : null;
  if (exp !== null && exp <= Date.now()) return { problem: "That token has expired. Mint a new one with `npm run token`." };
  const role = typeof claims.role === "string" && ROLES.includes(claims.role) ? (claims.role as Role) : null;
  return { token, role, sub: typeof claims.sub === "string" ? claims.sub : typeof claims.iss === "string" ? claims.iss : null, expiresAt: exp };
}

export function storedSession(): Session | null {
  const token = sessionStorage.getItem(STORAGE_KEY);
  if (!token) return null;
  const session = sessionOf(token);
  if ("problem" in session) {
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
  return session;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * The start-up link carries the token in the fragment (`/#token=…`): take it, and take it out of
 * the address bar and the history at once, so it is not left on screen or in a bookmark.
 */
export function takeTokenFromFragment(): string | null {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match) return null;
  history.replaceState(null, "", `${window.location.pathname}${window.location.search}#/artifacts`);
  return decodeURIComponent(match[1]);
}

/** What a role may do, as the server's auth rules say (README, Auth). */
export function capabilities(role: Role | null) {
  const superadmin = role === "superadmin";
  const admin = superadmin || role === "admin";
  return {
    manageRegistries: superadmin,
    scan: superadmin,
    deleteRestore: superadmin,
    /** import, cancel, cleanup, approve, reject */
    manageImports: admin,
    seeDeleted: admin,
    /** Reservoir access keys */
    seeRegistryKeys: admin,
  };
}

export type Capabilities = ReturnType<typeof capabilities>;
