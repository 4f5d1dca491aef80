import { loadConfig } from '@pushcast/config';
import { apiClient } from './api-client.ts';
import { startDemoProcesses } from './processes.ts';
import { clearQueuePrefix, demoDatabaseUrl, demoNames, redactUrl, resetDemoDatabase } from './setup.ts';
import { DEMO_TAGS, startDemoSite } from './site.ts';

/**
 * `npm run demo -- --browser`: Pushcast (API and a worker) and the demo website, for a real browser.
 * Open the printed address in Chrome, Edge or Firefox, subscribe, and send yourself a notification:
 * the browser subscribes with its own push service (so this machine needs the internet), the worker
 * sends through it, the service worker shows the notification and reports the open, and the page
 * shows `opened_count` move. Runs until Ctrl-C. `PUSHCAST_DEMO_SITE_PORT` picks the site's port.
 */
export async function runBrowserDemo(signal: AbortSignal, out: (text: string) => void, closers: (() => Promise<void>)[]): Promise<void> {
  const env = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL });
  const names = demoNames(process.env);
  const databaseUrl = demoDatabaseUrl(env.databaseUrl, names.database);
  out('Pushcast demo in a browser: the SDK, the service worker and open tracking\n');
  await clearQueuePrefix(env.redisUrl, names.queuePrefix);
  await resetDemoDatabase(databaseUrl);
  out(`  database      ${redactUrl(databaseUrl)} (recreated), queues under ${names.queuePrefix}:* (cleared)\n`);
  signal.throwIfAborted();

  const { apiUrl, adminToken } = await startDemoProcesses(
    { DATABASE_URL: databaseUrl, REDIS_URL: env.redisUrl, PUSHCAST_QUEUE_PREFIX: names.queuePrefix },
    closers,
  );
  out(`  API           ${apiUrl}/api/v1 (the SDK at ${apiUrl}/sdk/pushcast.js), with a worker\n`);

  const http = apiClient(`${apiUrl}/api/v1`, adminToken, signal);
  const sender = await http.post<{ id: number }>('/senders', { name: 'Demo sender' });
  const project = await http.post<{ id: number }>('/projects', { sender_id: sender.id, name: 'Pushcast demo', website: 'http://localhost' });
  const token = await http.post<{ token: string }>('/access_tokens', { name: 'demo site', project_ids: [project.id] });
  const site = await startDemoSite({
    pushcastUrl: apiUrl,
    projectId: project.id,
    token: token.token,
    port: Number(process.env.PUSHCAST_DEMO_SITE_PORT ?? 0),
  });
  closers.push(() => site.close());
  // localhost is a secure context for browsers (service workers and push need one) without TLS.
  const siteUrl = `http://localhost:${site.port}`;
  await http.patch(`/projects/${project.id}`, { website: siteUrl, browser_tags_allowed: [...DEMO_TAGS] });
  out(`  site          ${siteUrl}: project ${project.id}, its only allowed origin; browsers may set the tags ${DEMO_TAGS.join(', ')}\n\n`);
  out(`Open ${siteUrl} in Chrome, Edge or Firefox: Subscribe, then "Send me a notification", and click it.\n`);
  out('Press Ctrl-C to stop.\n');
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
