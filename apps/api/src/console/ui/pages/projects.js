import { api } from '../api.js';
import { n } from '../format.js';
import { usePolled } from '../hooks.js';
import { html } from '../html.js';
import { Link } from '../router.js';
import { Failed, Loading } from './common.js';

/** Every project the token may see: subscribers by platform and notifications of the last 24 hours. */
export function ProjectsPage() {
  const { data, error } = usePolled(
    async (signal) => {
      const [projects, summaries] = await Promise.all([api('GET', '/projects', { signal }), api('GET', '/stats/projects', { signal })]);
      const byId = new Map(summaries.map((s) => [s.project_id, s]));
      return projects.map((p) => ({ ...p, summary: byId.get(p.id) }));
    },
    [],
    () => 15_000,
  );
  return html`<main>
    <h1>Projects</h1>
    ${error && html`<${Failed} error=${error} />`}
    ${data === undefined ? html`<${Loading} />` : data.length === 0 ? html`<p>No projects yet: create one with the API (<a href="/docs">docs</a>).</p>` : html`
      <ul class="cards" aria-label="Projects">
        ${data.map((p) => html`<li key=${p.id} class="card">
          <h2><${Link} to=${`/projects/${p.id}`}>${p.name}</${Link}></h2>
          <p class="muted">${p.website}</p>
          <dl class="figures">
            <div><dt>Subscribers</dt><dd>${n(p.summary?.subscribers.total)}</dd></div>
            <div><dt>Web</dt><dd>${n(p.summary?.subscribers.web)}</dd></div>
            <div><dt>APNs</dt><dd>${n(p.summary?.subscribers.apns)}</dd></div>
            <div><dt>FCM</dt><dd>${n(p.summary?.subscribers.fcm)}</dd></div>
            <div><dt>Notifications (24 h)</dt><dd>${n(p.summary?.notifications_last_24h)}</dd></div>
          </dl>
        </li>`)}
      </ul>`}
  </main>`;
}
