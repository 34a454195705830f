import { useState, type FormEvent } from "react";
import { messageOf } from "../lib/api";
import { sessionOf, type Session } from "../lib/session";
import { ArtifactListDocument } from "../gql/graphql";

/** Paste a token; it is checked against the service before the console opens. */
export function SignIn({ problem, onSignIn }: { problem: string | null; onSignIn(session: Session): void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(problem);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = sessionOf(token);
    if ("problem" in session) return setError(session.problem);
    setBusy(true);
    setError(null);
    try {
      // The cheapest question every role may ask: does the service accept this token?
      const response = await fetch(new URL("graphql", document.baseURI), {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${session.token}` },
        body: JSON.stringify({ query: ArtifactListDocument.toString(), variables: { limit: 0, offset: 0, revisions: 0 } }),
      });
      const body = await response.json();
      if (body.errors?.length) throw new Error(body.errors.map((e: { message: string }) => e.message).join("; "));
      onSignIn(session);
    } catch (failure) {
      setError(`The service refused the token: ${messageOf(failure)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={submit}>
        <h1>Artifact registry</h1>
        <p>Sign in with an access token. It is kept in this browser tab only, until you sign out or close the tab.</p>
        <label htmlFor="token">Access token</label>
        <textarea
          id="token"
          name="token"
          rows={4}
          value={token}
          autoComplete="off"
          spellCheck={false}
          placeholder="eyJhbGciOiJIUzI1NiIs…"
          onChange={(event) => setToken(event.target.value)}
          aria-describedby="token-help"
          required
        />
        <p id="token-help" className="help">
          The service prints a sign-in link when it starts; <code>npm run token -- --role user</code> mints more tokens.
        </p>
        {error ? (
          <div className="note note-error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

