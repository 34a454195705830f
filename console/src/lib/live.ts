import { createClient, type Client } from "graphql-ws";
import { useSyncExternalStore } from "react";
import type { TypedDocumentString } from "../gql/graphql";
import { endpoint, type GraphQLErrorItem } from "./api";

/*
 * One graphql-ws connection for the whole console, opened at sign-in. Progress
 * and status changes are pushed; nothing polls. A dropped connection is retried forever, and
 * every view refetches once it is back, since events sent meanwhile are lost.
 */

export type LinkState = "idle" | "connecting" | "live" | "reconnecting";

let client: Client | null = null;
let state: LinkState = "idle";
const stateListeners = new Set<() => void>();
const reconnectListeners = new Set<() => void>();

function setState(next: LinkState) {
  state = next;
  for (const listener of stateListeners) listener();
}

function connect(token: string): Client {
  let connectedBefore = false;
  setState("connecting");
  return createClient({
    url: endpoint("ws"),
    connectionParams: { authorization: `Bearer ${token}` },
    // One connection for the whole session, kept open: the indicator then tells the truth.
    lazy: false,
    keepAlive: 15_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    // Only a refusal no retry can cure ends up here (the server closed with a protocol error).
    onNonLazyError: () => setState("idle"),
    on: {
      connected: () => {
        setState("live");
        if (connectedBefore) for (const listener of reconnectListeners) listener();
        connectedBefore = true;
      },
      closed: () => {
        if (client) setState(connectedBefore ? "reconnecting" : "connecting");
      },
    },
  });
}

let clientToken: string | null = null;

/** Starts the connection for this token (or keeps the one it has). */
export function openLive(token: string): void {
  if (client && clientToken === token) return;
  closeLive();
  clientToken = token;
  client = connect(token);
}

export function closeLive(): void {
  const old = client;
  client = null;
  clientToken = null;
  old?.dispose();
  setState("idle");
}

export function subscribe<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  next: (data: R) => void,
  fail: (errors: readonly GraphQLErrorItem[] | Error) => void,
): () => void {
  if (!client) return () => undefined;
  return client.subscribe<R>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.length) fail(result.errors as GraphQLErrorItem[]);
        else if (result.data) next(result.data);
      },
      error: (error) => fail(error instanceof Error ? error : new Error(Array.isArray(error) ? error.map((e) => e.message).join("; ") : "subscription failed")),
      complete: () => undefined,
    },
  );
}

/** Runs `listener` each time the connection comes back after a drop. */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function useLinkState(): LinkState {
  return useSyncExternalStore(
    (listener) => {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    () => state,
  );
}
