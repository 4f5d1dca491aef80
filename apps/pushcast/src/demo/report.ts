import type { Counters } from '@pushcast/local-push-service';
import { processed, type NotificationJson } from './api-client.ts';
import { fmt, seconds } from './progress.ts';
import type { Faults } from './setup.ts';

/**
 * The notification's own timestamps (creation to last outcome) rather than the poll loop's clock,
 * which would add up to one polling interval to a run of a few seconds.
 */
export function broadcastMs(n: NotificationJson, fallbackMs: number): number {
  if (n.completed_at === null) return fallbackMs;
  const ms = Date.parse(n.completed_at) - Date.parse(n.created_at);
  return Number.isFinite(ms) && ms > 0 ? ms : fallbackMs;
}

export function summary(n: NotificationJson, elapsedMs: number, faults: Faults, push: Counters, left: number): string {
  const total = processed(n);
  const rate = elapsedMs > 0 ? (total * 1000) / elapsedMs : 0;
  const width = fmt(Math.max(total, push.requests)).length;
  const row = (label: string, value: number, note = '') =>
    `  ${label.padEnd(12)}${fmt(value).padStart(width)}${note ? `   ${note}` : ''}`;

  const lines = [
    '',
    `Notification ${n.id}: ${fmt(total)} recipients in ${seconds(elapsedMs)} (${fmt(rate)} msg/s)`,
    row('delivered', n.successfully_sent_count),
    row('pruned', n.pruned_count, `410 Gone (${fmt(faults.gone)} scripted): deleted, ${fmt(left)} subscriptions left`),
    row('failed', n.failed_count),
  ];
  for (const [reason, count] of Object.entries(n.failures).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(row(`  ${reason}`, count));
  }
  lines.push(row('expired', n.expired_count));

  const byStatus = Object.entries(push.byStatus)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status}: ${fmt(count)}`)
    .join(', ');
  const http2 = push.requests > 0 ? (push.http2 * 100) / push.requests : 0;
  const retried = push.byStatus[429] ?? 0;
  lines.push(
    '',
    'Local push service (what the "browsers" saw)',
    row('requests', push.requests, `${byStatus}`),
    row('retried', retried, `429 with Retry-After: 1 (${fmt(faults.throttled)} scripted), sent again`),
    `  ${'HTTP/2'.padEnd(12)}${`${http2.toFixed(1)}%`.padStart(width)}   of requests`,
  );
  if (push.vapidInvalid > 0) lines.push(row('bad VAPID', push.vapidInvalid));
  return `${lines.join('\n')}\n`;
}
