import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { endpoint } from "../lib/api";
import { storedSession } from "../lib/session";
import "graphiql/style.css";
import "./explorer.css";

/*
 * GraphiQL, bundled with the console and served by the service (GET /graphql from a browser, and
 * /explorer): an air-gapped cluster reaches no CDN. Queries and mutations go over HTTP, and
 * subscriptions over graphql-ws on the same address; both carry the headers editor's
 * authorization (graphql-ws as connectionParams, which the server reads the same way).
 */

/*
 * GraphiQL's dialogs inject a <style> (react-remove-scroll), nonced through get-nonce, which reads
 * the global `__webpack_nonce__`: the page's policy allows it by the nonce the server put in the page.
 */
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
if (nonce) (window as unknown as { __webpack_nonce__?: string }).__webpack_nonce__ = nonce;

const PLACEHOLDER = "<paste a token: sign in to the console, or run `npm run token`>";

/** The console's token when this tab is signed in to it (same origin, same tab's sessionStorage). */
const initialHeaders = { authorization: `Bearer ${storedSession()?.token ?? PLACEHOLDER}` };
const headers = JSON.stringify(initialHeaders, null, 2);

const DEFAULT_QUERY = `# The artifact registry's GraphQL API. Ctrl-Enter runs the operation; the
# headers below carry the token. Subscriptions (artifactStatusChanged,
# artifactImportProgressUpdated) run over graphql-ws on this same address.

query Artifacts {
  artifacts(first: 10) {
    count
    edges {
      node {
        id
        name
        type
        availability
      }
    }
  }
}
`;

const overHttpOrWs = createGraphiQLFetcher({ url: endpoint(), subscriptionUrl: endpoint("ws") });
// GraphiQL 4 fetches the schema once before its headers editor exists, with no headers at all:
// that fetch gets the headers the editor starts with. Every later call carries the editor's.
const fetcher: Fetcher = (params, options) => overHttpOrWs(params, options?.headers ? options : { ...options, headers: initialHeaders });

createRoot(document.getElementById("explorer")!).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      headers={headers}
      defaultHeaders={headers}
      defaultEditorToolsVisibility="headers"
      // The token stays in this tab's sessionStorage: never offer to keep headers in localStorage.
      shouldPersistHeaders={false}
      showPersistHeadersSettings={false}
    >
      <GraphiQL.Logo>
        <a className="explorer-home" href="./" title="Back to the console">
          Artifact registry
        </a>
      </GraphiQL.Logo>
    </GraphiQL>
  </StrictMode>,
);
