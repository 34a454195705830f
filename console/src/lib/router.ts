import { useSyncExternalStore } from "react";

/*
 * Hash routing (`#/artifacts/<id>?rev=…`): the service serves one index.html at `/` and needs no
 * fallback route, and reloading or sharing a view keeps it.
 */

export interface Route {
  /** Path segments, decoded: `#/artifacts/abc` is ["artifacts", "abc"]. */
  path: string[];
  params: URLSearchParams;
}

function parse(hash: string): Route {
  const body = hash.replace(/^#\/?/, "");
  const [pathPart, query = ""] = body.split("?", 2);
  return { path: pathPart.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

let cached: { hash: string; route: Route } | null = null;

function current(): Route {
  const hash = window.location.hash;
  if (cached?.hash !== hash) cached = { hash, route: parse(hash) };
  return cached.route;
}

export function useRoute(): Route {
  return useSyncExternalStore(
    (listener) => {
      window.addEventListener("hashchange", listener);
      return () => window.removeEventListener("hashchange", listener);
    },
    current,
  );
}

/** The href of a view: `href(["artifacts", id], { rev })`; empty params are left out. */
export function href(path: readonly string[], params: Record<string, string | number | null | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  const search = query.toString();
  return `#/${path.map(encodeURIComponent).join("/")}${search ? `?${search}` : ""}`;
}

export function navigate(path: readonly string[], params: Record<string, string | number | null | undefined> = {}, options: { replace?: boolean } = {}): void {
  const target = href(path, params);
  if (options.replace) {
    history.replaceState(null, "", target);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = target;
  }
}
