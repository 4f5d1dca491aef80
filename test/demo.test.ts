import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdentifier } from '@pushcast/store';
import { TEST_PG_SERVER } from './support/database.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from './support/server.ts';

// `npm run demo` as a newcomer runs it: one process with the API, a worker and local Web Push, APNs
// and FCM servers. A database and queue prefix of this file's own (PUSHCAST_DEMO_*), so that it can
// run beside other test files and beside a developer's own `npm run demo`.

const suffix = randomBytes(4).toString('hex');
const DATABASE = `pushcast_demo_test_${suffix}`;
const QUEUE_PREFIX = `pushcast-demo-test-${suffix}`;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  const admin = new pg.Client({ connectionString: `${TEST_PG_SERVER}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(DATABASE)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await deleteRedisPrefix(QUEUE_PREFIX);
});

function demo(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/pushcast/src/demo.ts', ...args], {
    env: {
      ...process.env,
      DATABASE_URL: `${TEST_PG_SERVER}/postgres`,
      REDIS_URL: TEST_REDIS_URL,
      PUSHCAST_DEMO_DATABASE: DATABASE,
      PUSHCAST_DEMO_QUEUE_PREFIX: QUEUE_PREFIX,
      ...env,
    },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** What the demo scripts for recipients 0..n-1: every 100th from 0 gone for good, every 100th from 50 throttled once. */
const faultsFor = (n: number) => ({ gone: Math.ceil(n / 100), throttled: Math.ceil(Math.max(0, n - 50) / 100) });
const num = (text: string) => Number(text.replaceAll(',', ''));

/** A row of the per-platform table: [web, apns, fcm]. */
function tableRow(stdout: string, label: string): number[] {
  const match = new RegExp(`^  ${label} +([\\d,]+) +([\\d,]+) +([\\d,]+)`, 'm').exec(stdout);
  if (match === null) throw new Error(`no "${label}" row in:\n${stdout}`);
  return match.slice(1).map(num);
}

/** A row of one local server's section: its figure and the note after it. */
function serverRow(stdout: string, heading: string, label: string): { value: number; note: string } {
  const section = stdout.split('\n\n').find((block) => block.startsWith(heading));
  const match = section === undefined ? null : new RegExp(`^  ${label} +([\\d,]+)(?: {3}(.*))?$`, 'm').exec(section);
  if (match === null) throw new Error(`no "${label}" row under "${heading}" in:\n${stdout}`);
  return { value: num(match[1]!), note: match[2] ?? '' };
}

describe('npm run demo', () => {
  it('broadcasts to browsers, APNs and FCM devices and prints exactly what the scripted faults imply', { timeout: 60_000 }, async () => {
    const counts = { web: 500, apns: 300, fcm: 300 };
    const { code, stdout, stderr } = await demo(['--subscribers', '500', '--apns', '300', '--fcm', '300']);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stderr).not.toContain('pushcast demo:');

    expect(stdout).toContain(`/${DATABASE} (recreated)`);
    expect(stdout).toContain(`under ${QUEUE_PREFIX}:* (cleared)`);
    const [web, apns, fcm] = [faultsFor(counts.web), faultsFor(counts.apns), faultsFor(counts.fcm)];
    expect({ web, apns, fcm }).toEqual({ web: { gone: 5, throttled: 5 }, apns: { gone: 3, throttled: 3 }, fcm: { gone: 3, throttled: 3 } });
    expect(stdout).toMatch(/seeding 500 subscribers… [\d.]+s \(5 will answer 410, 5 429 once\)/);
    expect(stdout).toMatch(/seeding 300 APNs devices… [\d.]+s \(3 will answer 410 Unregistered, 3 429 once\)/);
    expect(stdout).toMatch(/seeding 300 FCM devices… [\d.]+s \(3 will answer 404 UNREGISTERED, 3 429 once\)/);
    expect(stdout).toMatch(/PATCH \/projects\/1 → APNs key [A-Z0-9]{10} for com\.example\.demo, FCM service account firebase-adminsdk-\S+@pushcast-demo\.iam\.gserviceaccount\.com/);

    // What GET /notifications/:id said per platform: everyone delivered but the gone, who are pruned;
    // the throttled were retried and delivered; nothing failed or expired.
    const total = counts.web + counts.apns + counts.fcm;
    expect(stdout).toMatch(new RegExp(`Notification 1: ${total.toLocaleString('en-US')} recipients in `));
    expect(tableRow(stdout, 'scheduled')).toEqual([500, 300, 300]);
    expect(tableRow(stdout, 'delivered')).toEqual([500 - web.gone, 300 - apns.gone, 300 - fcm.gone]);
    expect(tableRow(stdout, 'pruned')).toEqual([web.gone, apns.gone, fcm.gone]);
    expect(tableRow(stdout, 'failed')).toEqual([0, 0, 0]);
    expect(tableRow(stdout, 'expired')).toEqual([0, 0, 0]);
    const pruned = web.gone + apns.gone + fcm.gone;
    expect(stdout).toContain(`expired (never sent to again), ${(total - pruned).toLocaleString('en-US')} active subscriptions left`);

    // What the local servers counted: one request per recipient, plus one more for each throttled one.
    const push = 'Local push service';
    expect(serverRow(stdout, push, 'requests')).toEqual({ value: 500 + web.throttled, note: '201: 495, 410: 5, 429: 5' });
    expect(serverRow(stdout, push, 'retried').value).toBe(web.throttled);
    const apple = 'Local APNs server';
    expect(serverRow(stdout, apple, 'requests')).toEqual({ value: 300 + apns.throttled, note: '200: 297, 410: 3, 429: 3' });
    expect(serverRow(stdout, apple, 'retried').value).toBe(apns.throttled);
    expect(serverRow(stdout, apple, 'JWTs').value).toBe(1);
    const google = 'Local FCM server';
    expect(serverRow(stdout, google, 'requests')).toEqual({ value: 300 + fcm.throttled, note: '200: 297, 404: 3, 429: 3' });
    expect(serverRow(stdout, google, 'retried').value).toBe(fcm.throttled);
    expect(serverRow(stdout, google, 'OAuth').value).toBe(1);

    // The demo database holds what the summary says is left.
    const db = new pg.Client({ connectionString: `${TEST_PG_SERVER}/${DATABASE}` });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT platform, count(*)::int AS n FROM subscriptions WHERE state = 'active' GROUP BY platform ORDER BY platform`);
      expect(rows).toEqual([
        { platform: 'apns', n: 300 - apns.gone },
        { platform: 'fcm', n: 300 - fcm.gone },
        { platform: 'web', n: 500 - web.gone },
      ]);
    } finally {
      await db.end();
    }
  });

  it('refuses before touching anything: nobody to send to, or a database that is not a demo one', async () => {
    const [empty, foreign] = await Promise.all([
      demo(['--subscribers', '0', '--apns', '0', '--fcm', '0']),
      demo(['--subscribers', '10'], { PUSHCAST_DEMO_DATABASE: 'pushcast' }),
    ]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('--subscribers, --apns and --fcm are all 0');
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('PUSHCAST_DEMO_DATABASE must be pushcast_demo');
    expect(foreign.stdout).toBe('');
  });
});
