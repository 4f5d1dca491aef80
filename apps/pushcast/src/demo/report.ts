import type { ApnsCounters } from '@pushcast/local-apns-service';
import type { FcmCounters } from '@pushcast/local-fcm-service';
import type { Counters } from '@pushcast/local-push-service';
import { PLATFORMS, processed, type NotificationJson, type Platform } from './api-client.ts';
import { fmt, seconds } from './progress.ts';
import type { Faults } from './setup.ts';

/** What each local server counted: the other side of the wire. */
export interface ServerCounters {
  push: Counters;
  apns: ApnsCounters;
  fcm: FcmCounters;
}

const HEADINGS: Record<Platform, string> = { web: 'Web Push', apns: 'APNs', fcm: 'FCM' };

/**
 * The notification's own timestamps (creation to last outcome) rather than the poll loop's clock,
 * which would add up to one polling interval to a run of a few seconds.
 */
export function broadcastMs(n: NotificationJson, fallbackMs: number): number {
  if (n.completed_at === null) return fallbackMs;
  const ms = Date.parse(n.completed_at) - Date.parse(n.created_at);
  return Number.isFinite(ms) && ms > 0 ? ms : fallbackMs;
}

export function summary(
  n: NotificationJson,
  elapsedMs: number,
  faults: Record<Platform, Faults>,
  servers: ServerCounters,
  left: number,
): string {
  const total = processed(n);
  const rate = elapsedMs > 0 ? (total * 1000) / elapsedMs : 0;
  const lines = ['', `Notification ${n.id}: ${fmt(total)} recipients in ${seconds(elapsedMs)} (${fmt(rate)} msg/s)`];
  lines.push(...outcomeTable(n, faults, left));

  const width = fmt(Math.max(servers.push.requests, servers.apns.requests, servers.fcm.requests, 1)).length;
  const row = (label: string, value: number | string, note = '') =>
    `  ${label.padEnd(12)}${(typeof value === 'number' ? fmt(value) : value).padStart(width)}${note ? `   ${note}` : ''}`;
  const retried = (byStatus: Record<number, number>, header: string, scripted: number) =>
    row('retried', byStatus[429] ?? 0, `429 with ${header}: 1 (${fmt(scripted)} scripted), sent again`);
  const percent = (part: number, whole: number) => `${(whole > 0 ? (part * 100) / whole : 0).toFixed(1)}%`;
  const has = (p: Platform) => n.platforms[p].scheduled_count > 0;

  const { push, apns, fcm } = servers;
  if (has('web')) {
    lines.push(
      '',
      'Local push service (what the "browsers" saw)',
      row('requests', push.requests, byStatus(push.byStatus)),
      retried(push.byStatus, 'Retry-After', faults.web.throttled),
      row('HTTP/2', percent(push.http2, push.requests), 'of requests'),
    );
    if (push.vapidInvalid > 0) lines.push(row('bad VAPID', push.vapidInvalid));
  }
  if (has('apns')) {
    lines.push(
      '',
      'Local APNs server (standing in for api.push.apple.com)',
      row('requests', apns.requests, byStatus(apns.byStatus)),
      retried(apns.byStatus, 'retry-after', faults.apns.throttled),
      row('JWTs', apns.tokensMinted, `provider tokens (ES256, signed with the project's .p8 key) it verified`),
    );
    if (apns.jwtInvalid > 0) lines.push(row('bad JWT', apns.jwtInvalid));
  }
  if (has('fcm')) {
    lines.push(
      '',
      'Local FCM server (standing in for fcm.googleapis.com and Google OAuth)',
      row('requests', fcm.requests, byStatus(fcm.byStatus)),
      retried(fcm.byStatus, 'retry-after', faults.fcm.throttled),
      row('OAuth', fcm.oauthTokensIssued, `access tokens issued to the service account`),
      row('HTTP/2', percent(fcm.http2, fcm.requests), 'of requests'),
    );
    if (fcm.oauthRefusals > 0) lines.push(row('refused', fcm.oauthRefusals, 'OAuth token requests'));
  }
  return `${lines.join('\n')}\n`;
}

/** One column per platform, from `platforms` of GET /notifications/:id. */
function outcomeTable(n: NotificationJson, faults: Record<Platform, Faults>, left: number): string[] {
  const p = n.platforms;
  const reasons = [...new Set(PLATFORMS.flatMap((k) => Object.keys(p[k].failures)))].sort((a, b) => a.localeCompare(b));
  const labelWidth = Math.max(12, ...reasons.map((r) => r.length + 3));
  const largest = Math.max(...PLATFORMS.map((k) => p[k].scheduled_count));
  const col = Math.max(...PLATFORMS.map((k) => HEADINGS[k].length), fmt(largest).length) + 2;
  const row = (label: string, values: (k: Platform) => number | string, note = '') =>
    `  ${label.padEnd(labelWidth)}${PLATFORMS.map((k) => {
      const v = values(k);
      return (typeof v === 'number' ? fmt(v) : v).padStart(col);
    }).join('')}${note ? `   ${note}` : ''}`;

  const gone = PLATFORMS.map((k) => fmt(faults[k].gone)).join(' / ');
  const lines = [
    row('', (k) => HEADINGS[k]),
    row('scheduled', (k) => p[k].scheduled_count),
    row('delivered', (k) => p[k].successfully_sent_count),
    row('pruned', (k) => p[k].pruned_count, `gone (${gone} scripted): expired (never sent to again), ${fmt(left)} active subscriptions left`),
    row('failed', (k) => p[k].failed_count),
  ];
  for (const reason of reasons) lines.push(row(`  ${reason}`, (k) => p[k].failures[reason] ?? 0));
  lines.push(row('expired', (k) => p[k].expired_count));
  return lines;
}

function byStatus(counts: Record<number, number>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, count]) => `${status}: ${fmt(count)}`)
    .join(', ');
}
