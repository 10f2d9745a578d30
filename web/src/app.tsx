// Shell: header with sign-in state, the registration prompt, and the page the URL names.
import { useEffect, useState } from "preact/hooks";
import { describeError, errorCode, type Api } from "./api";
import type { Auth, Session } from "./auth/oidc";
import { Code } from "@connectrpc/connect";
import type { User } from "@gen/drift_monitoring/v1/user_pb";
import { formatRoute, parseRoute, type Route } from "./logic/route";
import { ExperimentPage } from "./views/experiment";
import { ExperimentsPage } from "./views/experiments";
import { Link, type Nav } from "./views/common";

export function App({ auth, api }: { auth: Auth; api: Api }) {
  const [route, setRoute] = useState<Route>(() => parseRoute(new URL(location.href)));
  const [session, setSession] = useState<Session | null>(auth.session);
  const [user, setUser] = useState<User | null>(null);
  const [unregistered, setUnregistered] = useState(false);
  const [error, setError] = useState("");

  const navigate: Nav = (next, replace = false) => {
    const url = formatRoute(next);
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    setRoute(next);
    if (!replace) window.scrollTo(0, 0);
  };

  useEffect(() => {
    const onPop = () => setRoute(parseRoute(new URL(location.href)));
    addEventListener("popstate", onPop);
    const unsubscribe = auth.subscribe(setSession);
    return () => { removeEventListener("popstate", onPop); unsubscribe(); };
  }, []);

  useEffect(() => {
    if (route.page !== "callback") return;
    auth.completeLogin(new URL(location.href))
      .then((next) => navigate(parseRoute(new URL(next, location.origin)), true))
      .catch((e) => { setError(String(e instanceof Error ? e.message : e)); navigate({ page: "experiments", search: "" }, true); });
  }, [route.page]);

  useEffect(() => {
    setUser(null);
    setUnregistered(false);
    if (!session) return;
    api.users.getCurrentUser({})
      .then(setUser)
      .catch((e) => (errorCode(e) === Code.NotFound ? setUnregistered(true) : setError(describeError(e))));
  }, [session?.subject]);

  const register = async () => {
    try {
      setUser(await api.users.registerUser({ acceptTerms: true }));
      setUnregistered(false);
    } catch (e) {
      setError(describeError(e));
    }
  };

  const here = formatRoute(route);
  return (
    <>
      <header class="top">
        <Link class="brand" to={{ page: "experiments", search: "" }} navigate={navigate}>Drift Monitoring</Link>
        <nav aria-label="account" class="account">
          {session ? (
            <>
              <details class="who">
                <summary data-testid="signed-in-as">{session.name || session.subject}</summary>
                <div class="popover">
                  <div>{session.email}</div>
                  {user && <div>Your user id (share it to be granted access): <code data-testid="my-user-id">{user.id}</code></div>}
                  {user?.admin && <div>Administrator</div>}
                </div>
              </details>
              <button type="button" onClick={() => void auth.logout()}>Sign out</button>
            </>
          ) : (
            <button type="button" onClick={() => auth.login(here).catch((e) => setError(String(e)))}>Sign in</button>
          )}
        </nav>
      </header>
      {unregistered && (
        <div class="banner" role="region" aria-label="registration">
          To create experiments and record runs, register and accept the terms of use.{" "}
          <button type="button" onClick={register}>Accept the terms and register</button>
        </div>
      )}
      {error && (
        <div class="error" role="alert">
          {error} <button type="button" aria-label="dismiss" onClick={() => setError("")}>×</button>
        </div>
      )}
      <main>
        {route.page === "experiments" && <ExperimentsPage api={api} route={route} navigate={navigate} signedIn={!!session} registered={!!user} />}
        {route.page === "experiment" && <ExperimentPage key={route.id} api={api} route={route} navigate={navigate} user={user} />}
        {route.page === "callback" && <p>Signing in…</p>}
        {route.page === "not-found" && <p>Nothing here. <Link to={{ page: "experiments", search: "" }} navigate={navigate}>All experiments</Link></p>}
      </main>
    </>
  );
}
