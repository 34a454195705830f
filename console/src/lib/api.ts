import type { TypedDocumentString } from "../gql/graphql";

export interface GraphQLErrorItem {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

/** A response with errors. `data` holds what succeeded (cleanup and model scans answer per item). */
export class ApiError extends Error {
  constructor(
    readonly errors: GraphQLErrorItem[],
    readonly data: unknown = null,
    readonly status = 200,
  ) {
    super(errors.map((e) => (e.extensions?.code ? `${e.message} (${e.extensions.code})` : e.message)).join("\n"));
  }

  get code(): string | null {
    return this.errors[0]?.extensions?.code ?? null;
  }
}

interface ApiHooks {
  token(): string | null;
  /** The server refused the token: the session ends. */
  unauthenticated(error: ApiError): void;
}

let hooks: ApiHooks = { token: () => null, unauthenticated: () => undefined };

export function configureApi(next: ApiHooks): void {
  hooks = next;
}

/** The API's URL, relative to the page, so a console behind a proxy's sub-path still finds it. */
export function endpoint(protocol: "http" | "ws" = "http"): string {
  const url = new URL("graphql", document.baseURI);
  if (protocol === "ws") url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

export async function gql<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
  const token = hooks.token();
  let response: Response;
  try {
    response = await fetch(endpoint(), {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch (error) {
    throw new ApiError([{ message: `The service cannot be reached: ${(error as Error).message}`, extensions: { code: "NETWORK" } }]);
  }
  let body: { data?: R | null; errors?: GraphQLErrorItem[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError([{ message: `The service answered ${response.status} without a GraphQL response`, extensions: { code: "HTTP_" + response.status } }], null, response.status);
  }
  if (body.errors?.length) {
    const error = new ApiError(body.errors, body.data ?? null, response.status);
    if (body.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) hooks.unauthenticated(error);
    throw error;
  }
  return body.data as R;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
