import { useCallback, useEffect, useRef, useState } from "react";
import type { TypedDocumentString } from "../gql/graphql";
import { gql, type GraphQLErrorItem } from "./api";
import { onReconnect, subscribe } from "./live";

export interface QueryState<R> {
  data: R | undefined;
  error: Error | null;
  loading: boolean;
  /** Loads again, keeping the current data on screen meanwhile. */
  refetch(): Promise<void>;
  /** Replaces the data locally (a pushed event or a mutation's answer). */
  setData(update: (data: R) => R): void;
}

/** Runs a query whenever its variables change, and again after the live connection came back. */
export function useQuery<R, V>(document: TypedDocumentString<R, V>, variables: V): QueryState<R> {
  const key = JSON.stringify(variables);
  const [data, setDataState] = useState<R | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);

  const refetch = useCallback(async () => {
    const ticket = ++latest.current;
    setLoading(true);
    try {
      const result = await gql(document, JSON.parse(key) as V);
      if (ticket !== latest.current) return;
      setDataState(result);
      setError(null);
    } catch (failure) {
      if (ticket === latest.current) setError(failure as Error);
    } finally {
      if (ticket === latest.current) setLoading(false);
    }
  }, [document, key]);

  useEffect(() => {
    void refetch();
  }, [refetch]);
  useEffect(() => onReconnect(() => void refetch()), [refetch]);

  const setData = useCallback((update: (data: R) => R) => setDataState((current) => (current === undefined ? current : update(current))), []);
  return { data, error, loading, refetch, setData };
}

/**
 * Keeps a subscription open while `variables` is not null; a change of variables resubscribes.
 * `onData` may change between renders without resubscribing.
 */
export function useSubscription<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V | null,
  onData: (data: R) => void,
  onError?: (errors: readonly GraphQLErrorItem[] | Error) => void,
): void {
  const handlers = useRef({ onData, onError });
  handlers.current = { onData, onError };
  const key = variables === null ? null : JSON.stringify(variables);
  useEffect(() => {
    if (key === null) return;
    return subscribe(
      document,
      JSON.parse(key) as V,
      (data) => handlers.current.onData(data),
      (errors) => handlers.current.onError?.(errors),
    );
  }, [document, key]);
}
