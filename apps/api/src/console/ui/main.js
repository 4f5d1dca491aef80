import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onUnauthorized, session } from './api.js';
import { html } from './html.js';
import { Link, match, navigate, usePath } from './router.js';
import { ProjectsPage } from './pages/projects.js';
import { ProjectPage } from './pages/project.js';
import { ComposePage } from './pages/compose.js';
import { NotificationPage } from './pages/notification.js';
import { FailuresPage } from './pages/failures.js';
import './style.css';

const ROUTES = [
  ['/', () => html`<${ProjectsPage} />`],
  ['/projects/:id', (p) => html`<${ProjectPage} id=${Number(p.id)} />`],
  ['/projects/:id/new', (p) => html`<${ComposePage} projectId=${Number(p.id)} />`],
  ['/notifications/:id', (p) => html`<${NotificationPage} id=${Number(p.id)} />`],
  ['/notifications/:id/failures', (p) => html`<${FailuresPage} id=${Number(p.id)} />`],
];

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Any token that may list projects may use the console: it shows what the token may see.
      await api('GET', '/projects', { token: token.trim() });
      session.signIn(token.trim());
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'This token is not valid here.' : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Pushcast console</h1>
    <form onSubmit=${submit}>
      <label for="token">Access token</label>
      <input id="token" type="password" autocomplete="off" spellcheck="false" required value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)} aria-describedby="token-help" />
      <p id="token-help" class="help">An admin token, or one scoped to projects: the console shows what it may see. It is kept for this tab only.</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function App() {
  const path = usePath();
  const [signedIn, setSignedIn] = useState(() => session.token() !== null);
  useEffect(() => onUnauthorized(() => {
    session.signOut();
    setSignedIn(false);
  }), []);
  useEffect(() => {
    const title = document.querySelector('main h1')?.textContent;
    document.title = title ? `${title} · Pushcast console` : 'Pushcast console';
  });
  if (!signedIn) return html`<${SignIn} onSignedIn=${() => setSignedIn(true)} />`;
  const signOut = () => {
    session.signOut();
    setSignedIn(false);
    navigate('/', { replace: true });
  };
  let page = html`<main><h1>Not found</h1><p>Nothing here. <${Link} to="/">Projects</${Link}></p></main>`;
  for (const [pattern, view] of ROUTES) {
    const params = match(pattern, path);
    if (params) {
      page = view(params);
      break;
    }
  }
  return html`<div class="shell">
    <header class="top">
      <nav aria-label="Console">
        <${Link} to="/" class="brand">Pushcast</${Link}>
        <${Link} to="/">Projects</${Link}>
        <a href="/docs">API docs</a>
        <a href="/admin/queues">Bull Board</a>
      </nav>
      <button type="button" class="link" onClick=${signOut}>Sign out</button>
    </header>
    ${page}
  </div>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the <noscript> note
render(html`<${App} />`, root);
