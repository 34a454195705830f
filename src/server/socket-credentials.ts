import type { WebSocket } from "ws";
import type { Credential } from "../auth/viewer";
import type { Clock } from "../common/clock";
import type { CredentialRevokedEvent } from "../events/event-bus";

/** graphql-ws's close code for a credential the server no longer accepts. */
export const CLOSE_UNAUTHORIZED = 4401;
/** A client that does not answer the close handshake is cut off after this. */
const CLOSE_GRACE_MS = 1000;

export interface RevocationSource {
  refusal(credential: Credential): string | null;
  onRevoked(listener: (event: CredentialRevokedEvent) => void): () => void;
}

interface Watched {
  socket: WebSocket;
  credential: Credential;
  cancel: () => void;
}

/**
 * The credentials of open graphql-ws sockets. A socket lives no longer than its token: it is
 * closed with 4401 and the reason ("Token expired", "Token revoked", "Key pair revoked") when
 * the token's exp passes or a revocation, from any process, reaches this one; its live
 * subscriptions end with it. Each new operation is checked again (refusal()).
 */
export class SocketCredentials {
  private readonly bySubject = new Map<string, Set<Watched>>();
  private readonly unlisten: () => void;

  constructor(private readonly clock: Clock, private readonly revocations: RevocationSource) {
    this.unlisten = revocations.onRevoked((event) => this.revoked(event));
  }

  /** Why the credential may no longer be used, or null. */
  refusal(credential: Credential): string | null {
    if (this.clock.now() >= credential.expiresAt * 1000) return "Token expired";
    return this.revocations.refusal(credential);
  }

  watch(socket: WebSocket, credential: Credential): void {
    // A socket that closed while its credential was looked up has had its "close": nothing would remove the entry.
    if (socket.readyState !== socket.OPEN) return;
    const entry: Watched = { socket, credential, cancel: () => {} };
    let watched = this.bySubject.get(credential.subject);
    if (!watched) this.bySubject.set(credential.subject, (watched = new Set()));
    watched.add(entry);
    socket.once("close", () => {
      entry.cancel();
      watched.delete(entry);
      if (watched.size === 0 && this.bySubject.get(credential.subject) === watched) this.bySubject.delete(credential.subject);
    });
    entry.cancel = this.clock.at(credential.expiresAt * 1000, () => close(socket, "Token expired"));
  }

  /** How many sockets are watched (for tests). */
  watching(): number {
    let count = 0;
    for (const watched of this.bySubject.values()) count += watched.size;
    return count;
  }

  /** Closes the socket with 4401 and `reason`. */
  end(socket: WebSocket, reason: string): void {
    close(socket, reason);
  }

  dispose(): void {
    this.unlisten();
    for (const watched of this.bySubject.values()) for (const entry of watched) entry.cancel();
    this.bySubject.clear();
  }

  private revoked(event: CredentialRevokedEvent): void {
    for (const entry of this.bySubject.get(event.subject) ?? []) {
      const reason = this.revocations.refusal(entry.credential);
      if (reason) close(entry.socket, reason);
    }
  }
}

function close(socket: WebSocket, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(CLOSE_UNAUTHORIZED, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}
