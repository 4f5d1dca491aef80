import { api } from '../api.js';
import { Funnel } from '../chart.js';
import { FINAL, n, pct, when } from '../format.js';
import { useGet } from '../hooks.js';
import { html } from '../html.js';
import { Link } from '../router.js';
import { useState } from 'preact/hooks';
import { Failed, Figure, Loading } from './common.js';
import { Progress } from './project.js';

/** A notification: content, targeting, live counters and funnel, its failures, Cancel while it can be. */
export function NotificationPage({ id }) {
  const { data: x, error, reload } = useGet(`/notifications/${id}`, (x) => (FINAL.has(x.status) ? null : 1000));
  const [cancelError, setCancelError] = useState(null);
  if (error && !x) return html`<main><h1>Notification ${id}</h1><${Failed} error=${error} /></main>`;
  if (!x) return html`<main><h1>Notification ${id}</h1><${Loading} /></main>`;
  const cancel = async () => {
    setCancelError(null);
    try {
      await api('DELETE', `/notifications/${id}/cancel`);
    } catch (err) {
      setCancelError(err.message);
    }
    reload();
  };
  const failed = x.failed_count + x.expired_count;
  return html`<main>
    <p class="crumbs"><${Link} to=${`/projects/${x.project_id}`}>Project ${x.project_id}</${Link}></p>
    <div class="title-row">
      <h1>${x.title || `Notification ${x.id}`}</h1>
      ${!FINAL.has(x.status) && html`<button type="button" class="danger" onClick=${cancel}>Cancel</button>`}
    </div>
    ${cancelError && html`<p class="error" role="alert">${cancelError}</p>`}
    <p><span class=${`status status-${x.status}`} role="status" aria-label="Status">${x.status}</span>
      <span class="muted small"> created ${when(x.created_at)}${x.send_at ? ` · for ${when(x.send_at)}` : ''}${x.completed_at ? ` · completed ${when(x.completed_at)}` : ''}</span></p>

    <section aria-labelledby="counters">
      <h2 id="counters">Delivery</h2>
      <${Progress} notification=${x} />
      <dl class="figures">
        <${Figure} label="Targeted" value=${n(x.scheduled_count)} />
        <${Figure} label="Sent" value=${n(x.successfully_sent_count)} />
        <${Figure} label="Opened" value=${n(x.opened_count)} />
        <${Figure} label="Pruned" value=${n(x.pruned_count)} />
        <${Figure} label="Failed" value=${n(failed)} />
      </dl>
      <${Funnel} steps=${[
        { label: 'Targeted', value: x.scheduled_count },
        { label: `Sent (${pct(x.successfully_sent_count, x.scheduled_count)})`, value: x.successfully_sent_count },
        { label: `Opened (${pct(x.opened_count, x.successfully_sent_count)})`, value: x.opened_count },
      ]} />
      ${Object.keys(x.failures).length > 0 && html`<p class="small">Reasons: ${Object.entries(x.failures).map(([reason, count]) => `${reason} ${n(count)}`).join(', ')}</p>`}
      ${x.pruned_count + failed > 0 && html`<p><${Link} to=${`/notifications/${x.id}/failures`}>Failure list</${Link}></p>`}
    </section>

    <div class="columns">
      <section aria-labelledby="content">
        <h2 id="content">Content</h2>
        <dl class="pairs">
          <${Figure} label="Title" value=${x.title ?? '–'} />
          <${Figure} label="Message" value=${x.body} />
          <${Figure} label="Link" value=${x.target_url ?? '–'} />
          <${Figure} label="Icon" value=${x.icon_url ?? '–'} />
          <${Figure} label="Image" value=${x.image_url ?? '–'} />
          <${Figure} label="Actions" value=${x.actions.length ? x.actions.map((a) => a.title).join(', ') : '–'} />
        </dl>
      </section>
      <section aria-labelledby="targeting">
        <h2 id="targeting">Targeting</h2>
        <dl class="pairs">
          <${Figure} label="Audience" value=${x.tags?.length ? `tags: ${x.tags.join(' | ')}` : x.uids?.length ? `${n(x.uids.length)} uids` : 'everyone'} />
          ${x.uids?.length > 0 && x.tags?.length > 0 && html`<${Figure} label="Uids" value=${x.uids.join(', ')} />`}
          <${Figure} label="Time to live" value=${`${n(x.ttl)} s`} />
          <${Figure} label="Per platform" value=${['web', 'apns', 'fcm'].filter((k) => x.platforms[k].scheduled_count > 0).map((k) => `${k} ${n(x.platforms[k].scheduled_count)}`).join(', ') || '–'} />
        </dl>
      </section>
    </div>
  </main>`;
}
