import { api } from '../api.js';
import { when } from '../format.js';
import { html } from '../html.js';
import { Link } from '../router.js';
import { useEffect, useState } from 'preact/hooks';
import { Failed, Loading } from './common.js';

/** Who did not get a notification and why (GET /notifications/:id/failures), a page at a time. */
export function FailuresPage({ id }) {
  const [rows, setRows] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const load = async (after) => {
    try {
      const page = await api('GET', `/notifications/${id}/failures?per_page=100${after ? `&cursor=${encodeURIComponent(after)}` : ''}`);
      setRows((r) => [...(after ? r ?? [] : []), ...page.data]);
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    setRows(null);
    load(null);
  }, [id]);
  return html`<main>
    <p class="crumbs"><${Link} to=${`/notifications/${id}`}>Notification ${id}</${Link}></p>
    <h1>Failures of notification ${id}</h1>
    ${error && html`<${Failed} error=${error} />`}
    ${rows === null ? !error && html`<${Loading} />` : rows.length === 0 ? html`<p>Nobody: every recipient got it (or its records are past their retention).</p>` : html`
      <div class="table-box">
        <table>
          <caption class="muted">${rows.length} recipient${rows.length === 1 ? '' : 's'}${cursor ? ' so far' : ''}</caption>
          <thead><tr><th scope="col">Subscription</th><th scope="col">Uid</th><th scope="col">Platform</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">At</th></tr></thead>
          <tbody>
            ${rows.map((r) => html`<tr key=${r.subscription_id}>
              <td>${r.subscription_id}</td><td>${r.uid ?? '–'}</td><td>${r.platform}</td><td>${r.outcome}</td>
              <td>${[r.status, r.reason].filter((v) => v !== null).join(' ') || '–'}</td><td>${when(r.at)}</td>
            </tr>`)}
          </tbody>
        </table>
      </div>
      ${cursor && html`<button type="button" onClick=${() => load(cursor)}>More</button>`}`}
  </main>`;
}
