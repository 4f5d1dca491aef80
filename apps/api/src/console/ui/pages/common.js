import { html } from '../html.js';

export const Loading = () => html`<p class="muted" role="status">Loading…</p>`;

export const Failed = ({ error }) => html`<p class="error" role="alert">${error.status === 403 ? 'This token may not see this.' : error.status === 404 ? 'Not found.' : error.message}</p>`;

/** A count with its label, as a term and its definition (so that tests and screen readers can pair them). */
export const Figure = ({ label, value }) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
