import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { n } from '../format.js';
import { useGet } from '../hooks.js';
import { html } from '../html.js';
import { Link, navigate } from '../router.js';
import { Failed, Loading } from './common.js';

const MAX_ACTIONS = 4;
const splitUids = (text) => text.split(/[\s,]+/).map((u) => u.trim()).filter(Boolean);

/** A labelled input; `error` (the API's, for this field) is announced with it. */
function Field({ id, label, error, multiline, help, ...input }) {
  const described = [help && `${id}-help`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  const props = { id, name: id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': described, ...input };
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${multiline ? html`<textarea rows="3" ...${props}></textarea>` : html`<input ...${props} />`}
    ${help && html`<p id=${`${id}-help`} class="help">${help}</p>`}
    ${error && html`<p id=${`${id}-error`} class="error">${error}</p>`}
  </div>`;
}

/**
 * How many the audience being typed would reach (GET /projects/:id/audience), asked a moment after
 * typing stops; a tag expression that does not parse yet says why instead.
 */
function useAudience(projectId, audience, tags, uidsText) {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    const controller = new AbortController();
    const filters = audience === 'tags' ? { 'tags[]': tags.trim() || undefined } : audience === 'uids' ? { 'uids[]': splitUids(uidsText).slice(0, 1000) } : {};
    if ((audience === 'tags' && !tags.trim()) || (audience === 'uids' && splitUids(uidsText).length === 0)) {
      setState({ empty: true });
      return () => {};
    }
    setState((s) => ({ ...s, loading: true }));
    const timer = setTimeout(async () => {
      try {
        const a = await api('GET', `/projects/${projectId}/audience${query(filters)}`, { signal: controller.signal });
        setState({ count: a.count, exact: a.exact });
      } catch (err) {
        if (err.name !== 'AbortError') setState({ error: err.message });
      }
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [projectId, audience, tags, uidsText]);
  return state;
}

function AudienceCount({ state }) {
  let text;
  if (state.empty) text = 'Audience: nobody yet';
  else if (state.error) text = `Audience: ${state.error}`;
  else if (state.count === undefined) text = 'Audience: counting…';
  else text = `Audience: ${state.exact ? '' : 'about '}${n(state.count)} subscriber${state.count === 1 ? '' : 's'}`;
  return html`<p class=${state.error ? 'error' : 'audience'} role="status" aria-live="polite">${text}</p>`;
}

/** How the notification will look: a browser's notification, roughly (each system draws its own). */
function Preview({ project, title, body, icon, image, actions, link }) {
  const host = (() => {
    try {
      return new URL(link || project.website).host;
    } catch {
      return project.website;
    }
  })();
  const iconUrl = icon || project.icon_url;
  return html`<figure class="preview" aria-label="Preview">
    <div class="preview-card">
      ${iconUrl ? html`<img class="preview-icon" src=${iconUrl} alt="" width="40" height="40" />` : html`<span class="preview-icon blank" aria-hidden="true"></span>`}
      <div class="preview-text">
        <strong>${title || project.name}</strong>
        <span>${body || 'Your message'}</span>
        <span class="muted small">${host}</span>
      </div>
    </div>
    ${image && html`<img class="preview-image" src=${image} alt="" />`}
    ${actions.filter((a) => a.title).length > 0 && html`<div class="preview-actions">${actions.filter((a) => a.title).map((a, i) => html`<span key=${i}>${a.title}</span>`)}</div>`}
    <figcaption class="muted small">Preview</figcaption>
  </figure>`;
}

export function ComposePage({ projectId }) {
  const project = useGet(`/projects/${projectId}`);
  const [f, setF] = useState({ title: '', body: '', target_url: '', icon_url: '', image_url: '', audience: 'everyone', tags: '', uids: '', when: 'now', send_at: '' });
  const [actions, setActions] = useState([]);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState(null);
  const audienceState = useAudience(projectId, f.audience, f.tags, f.uids);
  const set = (key) => (e) => setF((s) => ({ ...s, [key]: e.currentTarget.value }));
  const fieldError = (...names) => (error && names.some((name) => error.field === name || error.field?.startsWith(`${name}.`)) ? error.message : null);

  if (project.error) return html`<main><h1>New notification</h1><${Failed} error=${project.error} /></main>`;
  if (!project.data) return html`<main><h1>New notification</h1><${Loading} /></main>`;

  const submit = async (e) => {
    e.preventDefault();
    setSending(true);
    setError(null);
    const body = { body: f.body };
    for (const key of ['title', 'target_url', 'icon_url', 'image_url']) if (f[key].trim()) body[key] = f[key].trim();
    const chosen = actions.filter((a) => a.title.trim());
    if (chosen.length) body.actions = chosen.map((a) => ({ title: a.title.trim(), ...(a.target_url.trim() ? { target_url: a.target_url.trim() } : {}) }));
    if (f.audience === 'tags') body.tags = [f.tags.trim()];
    if (f.audience === 'uids') body.uids = splitUids(f.uids);
    if (f.when === 'later') {
      const at = new Date(f.send_at);
      if (Number.isNaN(at.getTime())) {
        setError({ field: 'send_at', message: 'Choose a date and time.' });
        setSending(false);
        return;
      }
      body.send_at = at.toISOString();
    }
    try {
      const created = await api('POST', `/projects/${projectId}/notifications`, { body });
      navigate(`/notifications/${created.id}`);
    } catch (err) {
      setError({ field: err.field, message: err.message });
      setSending(false);
    }
  };

  const setAction = (i, key) => (e) => {
    const value = e.currentTarget.value;
    setActions((list) => list.map((a, j) => (j === i ? { ...a, [key]: value } : a)));
  };

  return html`<main>
    <p class="crumbs"><${Link} to=${`/projects/${projectId}`}>${project.data.name}</${Link}></p>
    <h1>New notification</h1>
    <div class="compose">
      <form onSubmit=${submit} noValidate>
        <${Field} id="title" label="Title" value=${f.title} onInput=${set('title')} maxLength="255" placeholder=${project.data.name} error=${fieldError('title')} />
        <${Field} id="message" label="Message" multiline required value=${f.body} onInput=${set('body')} error=${fieldError('body')} />
        <${Field} id="link" label="Link" type="url" value=${f.target_url} onInput=${set('target_url')} placeholder=${project.data.website} error=${fieldError('target_url')} help="Opened when the notification is clicked." />
        <${Field} id="icon" label="Icon URL" type="url" value=${f.icon_url} onInput=${set('icon_url')} error=${fieldError('icon_url')} />
        <${Field} id="image" label="Image URL" type="url" value=${f.image_url} onInput=${set('image_url')} error=${fieldError('image_url')} />

        <fieldset>
          <legend>Actions</legend>
          ${actions.map((a, i) => html`<div class="action-row" key=${i}>
            <${Field} id=${`action-${i + 1}-title`} label=${`Action ${i + 1} title`} value=${a.title} onInput=${setAction(i, 'title')} error=${fieldError(`actions.${i}.title`)} />
            <${Field} id=${`action-${i + 1}-link`} label=${`Action ${i + 1} link`} type="url" value=${a.target_url} onInput=${setAction(i, 'target_url')} error=${fieldError(`actions.${i}.target_url`)} />
            <button type="button" class="link" onClick=${() => setActions((list) => list.filter((_, j) => j !== i))}>Remove action ${i + 1}</button>
          </div>`)}
          ${actions.length < MAX_ACTIONS && html`<button type="button" class="secondary" onClick=${() => setActions((list) => [...list, { title: '', target_url: '' }])}>Add an action</button>`}
        </fieldset>

        <fieldset>
          <legend>Audience</legend>
          <div class="choices">
            ${[['everyone', 'Everyone'], ['tags', 'Subscribers with tags'], ['uids', 'Users by uid']].map(([value, label]) => html`<label key=${value} class="choice">
              <input type="radio" name="audience" value=${value} checked=${f.audience === value} onChange=${set('audience')} /> ${label}</label>`)}
          </div>
          ${f.audience === 'tags' && html`<${Field} id="tags" label="Tags expression" value=${f.tags} onInput=${set('tags')} spellcheck="false" autocomplete="off"
            help="e.g. news && (sport || !paid)" error=${fieldError('tags')} />`}
          ${f.audience === 'uids' && html`<${Field} id="uids" label="User ids" multiline value=${f.uids} onInput=${set('uids')} help="One per line, or separated by commas." error=${fieldError('uids')} />`}
          <${AudienceCount} state=${audienceState} />
        </fieldset>

        <fieldset>
          <legend>When</legend>
          <div class="choices">
            <label class="choice"><input type="radio" name="when" value="now" checked=${f.when === 'now'} onChange=${set('when')} /> Now</label>
            <label class="choice"><input type="radio" name="when" value="later" checked=${f.when === 'later'} onChange=${set('when')} /> At a time</label>
          </div>
          ${f.when === 'later' && html`<${Field} id="send-at" label="Send at" type="datetime-local" value=${f.send_at} onInput=${set('send_at')} help="Your local time; at most 5 days ahead." error=${fieldError('send_at')} />`}
        </fieldset>

        ${error && html`<p class="error" role="alert">${error.message}</p>`}
        <div class="form-actions">
          <button type="submit" disabled=${sending}>Send</button>
          <${Link} to=${`/projects/${projectId}`}>Back to the project</${Link}>
        </div>
      </form>
      <${Preview} project=${project.data} title=${f.title} body=${f.body} icon=${f.icon_url} image=${f.image_url} actions=${actions} link=${f.target_url} />
    </div>
  </main>`;
}
