const numbers = new Intl.NumberFormat('en');
export const n = (x) => (x === null || x === undefined ? '–' : numbers.format(x));
export const pct = (part, whole) => (whole > 0 ? `${Math.round((100 * part) / whole)} %` : '–');
const dates = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
export const when = (iso) => (iso ? dates.format(new Date(iso)) : '–');
/** The statuses a notification can no longer leave. */
export const FINAL = new Set(['sent', 'cancelled']);
