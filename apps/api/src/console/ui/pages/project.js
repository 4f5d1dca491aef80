import { api } from '../api.js';
import { SubscribersChart } from '../chart.js';
import { FINAL, n, when } from '../format.js';
import { useGet, usePolled } from '../hooks.js';
import { html } from '../html.js';
import { Link } from '../router.js';
import { Failed, Figure, Loading } from './common.js';

/** A project: subscribers (now and over time), recent notifications live, quota, credentials, webhooks. */
export function ProjectPage({ id }) {
  const project = useGet(`/projects/${id}`);
  const stats = useGet(`/projects/${id}/stats?days=30`, () => 30_000);
  if (project.error) return html`<main><h1>Project ${id}</h1><${Failed} error=${project.error} /></main>`;
  if (!project.data) return html`<main><h1>Project ${id}</h1><${Loading} /></main>`;
  const p = project.data;
  const s = stats.data;
  return html`<main>
    <p class="crumbs"><${Link} to="/">Projects</${Link}></p>
    <div class="title-row">
      <h1>${p.name}</h1>
      <${Link} to=${`/projects/${id}/new`} class="button">New notification</${Link}>
    </div>
    <p class="muted">${p.website} · project ${p.id}</p>

    <section aria-labelledby="subscribers">
      <h2 id="subscribers">Subscribers</h2>
      ${stats.error && html`<${Failed} error=${stats.error} />`}
      ${s && html`<dl class="figures">
          <${Figure} label="Subscribers" value=${n(s.subscribers.total)} />
          <${Figure} label="Web" value=${n(s.subscribers.web)} />
          <${Figure} label="APNs" value=${n(s.subscribers.apns)} />
          <${Figure} label="FCM" value=${n(s.subscribers.fcm)} />
          <${Figure} label="Notifications (24 h)" value=${n(s.notifications_last_24h)} />
        </dl>
        <${SubscribersChart} days=${s.subscribers_over_time} span=${30} />`}
    </section>

    <${RecentNotifications} projectId=${id} />
    <div class="columns">
      <${Quota} projectId=${id} />
      <${Credentials} project=${p} />
    </div>
    <${Webhooks} projectId=${id} />
  </main>`;
}

/** The newest notifications, polled every second while one of them is on its way. */
function RecentNotifications({ projectId }) {
  const { data, error } = useGet(`/projects/${projectId}/notifications?per_page=10`, (list) =>
    list.some((x) => !FINAL.has(x.status)) ? 1000 : 10_000,
  );
  return html`<section aria-labelledby="recent">
    <h2 id="recent">Recent notifications</h2>
    ${error && html`<${Failed} error=${error} />`}
    ${data === undefined ? html`<${Loading} />` : data.length === 0 ? html`<p class="muted">None yet.</p>` : html`
      <ul class="rows">
        ${data.map((x) => html`<li key=${x.id}>
          <div class="row-head">
            <${Link} to=${`/notifications/${x.id}`}>${x.title || x.body}</${Link}>
            <span class=${`status status-${x.status}`}>${x.status}</span>
          </div>
          <${Progress} notification=${x} />
          <p class="muted small">${`${x.send_at && x.status === 'scheduled' ? `for ${when(x.send_at)}` : when(x.created_at)} · ${n(x.successfully_sent_count)} sent, ${n(x.failed_count + x.expired_count)} failed, ${n(x.pruned_count)} pruned, ${n(x.opened_count)} opened of ${n(x.scheduled_count)}`}</p>
        </li>`)}
      </ul>`}
  </section>`;
}

/** How far a notification is: recipients with an outcome of those planned. */
export function Progress({ notification: x }) {
  const done = x.successfully_sent_count + x.failed_count + x.expired_count + x.pruned_count;
  const max = Math.max(x.scheduled_count, done, 1);
  return html`<progress max=${max} value=${x.status === 'sent' ? max : done} aria-label=${`Progress of notification ${x.id}`}></progress>`;
}

function Gauge({ id, label, used, limit }) {
  if (!limit) return html`<p><span class="gauge-label">${label}</span> ${n(used)} sent, unlimited</p>`;
  return html`<p class="gauge">
    <label for=${id} class="gauge-label">${label}</label>
    <meter id=${id} min="0" max=${limit} value=${used} low=${limit * 0.7} high=${limit * 0.9} optimum="0"></meter>
    <span>${n(used)} of ${n(limit)}</span>
  </p>`;
}

function Quota({ projectId }) {
  const { data: q, error } = useGet(`/projects/${projectId}/quota`, () => 10_000);
  return html`<section aria-labelledby="quota">
    <h2 id="quota">Quota</h2>
    ${error && html`<${Failed} error=${error} />`}
    ${q && html`
      <${Gauge} id="quota-hourly" label="This hour" used=${q.hourly_used} limit=${q.hourly_limit} />
      <${Gauge} id="quota-daily" label="Today" used=${q.daily_used} limit=${q.daily_limit} />
      <p class="muted small">At the limit: ${q.policy === 'defer' ? 'sends wait for the next window' : 'new notifications are refused'}.</p>`}
  </section>`;
}

function credential(c) {
  if (!c) return html`<span class="muted">not set</span>`;
  if (c.status === 'rejected') return html`<span class="status status-rejected">rejected</span> <span class="small">${c.rejected_reason} (${when(c.rejected_at)})</span>`;
  return html`<span class="status status-sent">set</span>`;
}

/** Which provider credentials are set, and whether a provider rejected them: never the secrets. */
function Credentials({ project: p }) {
  return html`<section aria-labelledby="credentials">
    <h2 id="credentials">Credentials</h2>
    <dl class="pairs">
      <${Figure} label="Web Push" value=${html`<span class="status status-sent">set</span> <span class="small">VAPID keys of sender ${p.sender_id}</span>`} />
      <${Figure} label="APNs" value=${html`${credential(p.apns_credentials)}${p.apns_credentials && html` <span class="small">${p.apns_credentials.topic}, ${p.apns_credentials.production ? 'production' : 'sandbox'}</span>`}`} />
      <${Figure} label="FCM" value=${html`${credential(p.fcm_credentials)}${p.fcm_credentials && html` <span class="small">${p.fcm_credentials.project_id}</span>`}`} />
    </dl>
  </section>`;
}

function Webhooks({ projectId }) {
  const { data, error } = usePolled(
    async (signal) => {
      const hooks = await api('GET', `/projects/${projectId}/webhooks`, { signal });
      return Promise.all(hooks.map(async (w) => ({ ...w, attempts: await api('GET', `/projects/${projectId}/webhooks/${w.id}/attempts?per_page=3`, { signal }) })));
    },
    [projectId],
    () => 30_000,
  );
  return html`<section aria-labelledby="webhooks">
    <h2 id="webhooks">Webhooks</h2>
    ${error && html`<${Failed} error=${error} />`}
    ${data === undefined ? html`<${Loading} />` : data.length === 0 ? html`<p class="muted">None.</p>` : html`
      <ul class="rows">
        ${data.map((w) => html`<li key=${w.id}>
          <div class="row-head"><span class="url">${w.url}</span>
            <span class=${`status ${w.enabled ? 'status-sent' : 'status-rejected'}`}>${w.enabled ? 'enabled' : 'disabled'}</span></div>
          <p class="muted small">${w.events.join(', ')}${w.disabled_reason ? ` · ${w.disabled_reason}` : ''}</p>
          ${w.attempts.length === 0 ? html`<p class="muted small">No attempts yet.</p>` : html`<ul class="attempts small">
            ${w.attempts.map((a) => html`<li key=${`${a.event_id}-${a.attempt}`}>${when(a.at)} · ${a.type} · ${a.status ?? 'no answer'}${a.error ? ` · ${a.error}` : ''} · ${n(a.duration_ms)} ms</li>`)}
          </ul>`}
        </li>`)}
      </ul>`}
  </section>`;
}
