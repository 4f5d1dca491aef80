import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';

/**
 * Routing by the path under /console (history API): every path answers the same page, so a link can
 * be opened in a new tab, bookmarked or reloaded. Links are real <a href> elements.
 */
export const BASE = '/console';

/** The URL of a console path: `/` is /console itself. */
const href = (path) => (path === '/' ? BASE : `${BASE}${path}`);

const listeners = new Set();
export function navigate(path, { replace = false } = {}) {
  const url = href(path);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((f) => f());
  window.scrollTo(0, 0);
}

export function usePath() {
  const read = () => location.pathname.slice(BASE.length) || '/';
  const [path, setPath] = useState(read);
  useEffect(() => {
    const update = () => setPath(read());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A link inside the console: navigates without reloading (a modified click opens a tab as usual). */
export function Link({ to, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return html`<a href=${href(to)} onClick=${onClick} ...${rest}>${children}</a>`;
}

/** Matches `/projects/:id`-style patterns; returns the parameters or null. */
export function match(pattern, path) {
  const trim = (x) => x.replace(/\/+$/, '');
  const p = trim(pattern).split('/');
  const s = trim(path).split('/');
  if (p.length !== s.length) return null;
  const params = {};
  for (let i = 0; i < p.length; i += 1) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}
