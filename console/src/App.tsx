import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { configureApi } from "./lib/api";
import { closeLive, openLive, useLinkState } from "./lib/live";
import { href, useRoute } from "./lib/router";
import { capabilities, forgetToken, storedSession, storeToken, takeTokenFromFragment, sessionOf, type Capabilities, type Session } from "./lib/session";
import { ArtifactDetail } from "./views/ArtifactDetail";
import { ArtifactList } from "./views/ArtifactList";
import { Registries } from "./views/Registries";
import { SignIn } from "./views/SignIn";

interface SessionContext {
  session: Session;
  can: Capabilities;
  signOut(reason?: string): void;
}

const Ctx = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const value = useContext(Ctx);
  if (!value) throw new Error("useSession outside a signed-in console");
  return value;
}

/** Reads the token of the start-up link, or of this tab's earlier sign-in. */
function initialSession(): { session: Session | null; problem: string | null } {
  const fromLink = takeTokenFromFragment();
  if (fromLink) {
    const session = sessionOf(fromLink);
    if ("problem" in session) return { session: null, problem: session.problem };
    storeToken(session.token);
    return { session, problem: null };
  }
  return { session: storedSession(), problem: null };
}

export function App() {
  const [{ session, problem }, setState] = useState(initialSession);

  const signIn = useCallback((next: Session) => {
    storeToken(next.token);
    setState({ session: next, problem: null });
    if (!window.location.hash.startsWith("#/")) window.location.hash = "#/artifacts";
  }, []);
  const signOut = useCallback((reason?: string) => {
    forgetToken();
    closeLive();
    setState({ session: null, problem: reason ?? null });
  }, []);

  // Set during render, not in an effect: the first queries of the views below need the token.
  configureApi({
    token: () => session?.token ?? null,
    unauthenticated: (error) => signOut(`The service refused the token: ${error.errors[0]?.message ?? "UNAUTHENTICATED"}`),
  });
  if (session) openLive(session.token);

  // A token that runs out while the console is open ends the session then, not at the next click.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const timer = window.setTimeout(() => signOut("The token has expired. Sign in with a new one."), Math.min(session.expiresAt - Date.now(), 2 ** 31 - 1));
    return () => window.clearTimeout(timer);
  }, [session, signOut]);

  const context = useMemo(() => (session ? { session, can: capabilities(session.role), signOut } : null), [session, signOut]);
  if (!context) return <SignIn problem={problem} onSignIn={signIn} />;
  return (
    <Ctx.Provider value={context}>
      <Shell />
    </Ctx.Provider>
  );
}

function LinkIndicator() {
  const state = useLinkState();
  const label = { idle: "Offline", connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" }[state];
  return (
    <span className={`link-state link-${state}`} role="status" title="Updates are pushed over a WebSocket">
      <span className="link-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function Shell() {
  const { session, signOut } = useSession();
  const route = useRoute();
  const section = route.path[0] ?? "artifacts";
  let view;
  if (section === "artifacts" && route.path[1]) view = <ArtifactDetail key={route.path[1]} id={route.path[1]} route={route} />;
  else if (section === "artifacts") view = <ArtifactList route={route} />;
  else if (section === "registries") view = <Registries />;
  else view = <NotFound />;

  return (
    <div className="shell">
      <a className="skip-link" href="#main" onClick={(event) => { event.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href(["artifacts"])}>
          Artifact registry
        </a>
        <nav aria-label="Sections" className="nav">
          <a href={href(["artifacts"])} aria-current={section === "artifacts" ? "page" : undefined}>
            Artifacts
          </a>
          <a href={href(["registries"])} aria-current={section === "registries" ? "page" : undefined}>
            Registries
          </a>
          {/* A page of its own (GraphiQL, same origin), in this tab: it reads this tab's token. */}
          <a href="explorer" title="GraphiQL, signed in with this session's token">
            GraphQL explorer
          </a>
        </nav>
        <div className="who">
          <LinkIndicator />
          <span className="who-name" title={session.sub ?? undefined}>
            {session.sub ?? "signed in"} <span className="role">{session.role ?? "role unknown: read only"}</span>
          </span>
          <button type="button" className="button button-quiet" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no such page. <a href={href(["artifacts"])}>Go to the artifacts</a>.
      </p>
    </section>
  );
}
