import { parseArgs } from 'node:util';
import type { Platform } from './api-client.ts';
import { fmt } from './progress.ts';

export const USAGE = `usage: npm run demo [-- --subscribers N] [--apns N] [--fcm N] | npm run demo -- --browser
  --subscribers, -n   browsers (Web Push), default 10000
  --apns              Apple devices (APNs), default 2000
  --fcm               Android devices (FCM), default 2000
  0 leaves a platform out; at least one must have recipients.
  --browser           instead: the demo website, to subscribe a real browser and open a notification`;

/** Recipients per platform, `help` when the user asked for the usage text, `browser` for the demo website. */
export type DemoOptions = Record<Platform, number> | 'help' | 'browser';

export function parseDemoOptions(args: string[] = process.argv.slice(2)): DemoOptions {
  const options = {
    subscribers: { type: 'string', short: 'n', default: '10000' },
    apns: { type: 'string', default: '2000' },
    fcm: { type: 'string', default: '2000' },
    help: { type: 'boolean', short: 'h' },
    browser: { type: 'boolean' },
  } as const;
  let values;
  try {
    ({ values } = parseArgs({ args, options }));
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.help) return 'help';
  if (values.browser) return 'browser';
  const count = (name: string, raw: string): number => {
    const n = Number(raw.replaceAll(/[_,]/g, ''));
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
      throw new Error(`--${name} must be a whole number, 0 or more\n${USAGE}`);
    }
    return n;
  };
  const counts = {
    web: count('subscribers', values.subscribers),
    apns: count('apns', values.apns),
    fcm: count('fcm', values.fcm),
  };
  if (counts.web + counts.apns + counts.fcm === 0) {
    throw new Error(`--subscribers, --apns and --fcm are all 0: nobody to send to\n${USAGE}`);
  }
  return counts;
}

/** "10,000 subscribers, 2,000 Apple devices (APNs) and 2,000 Android devices (FCM)", leaving out the 0s. */
export function audience(counts: Record<Platform, number>): string {
  const parts = [
    counts.web > 0 ? `${fmt(counts.web)} subscribers` : '',
    counts.apns > 0 ? `${fmt(counts.apns)} Apple devices (APNs)` : '',
    counts.fcm > 0 ? `${fmt(counts.fcm)} Android devices (FCM)` : '',
  ].filter((part) => part !== '');
  const last = parts.pop() ?? 'nobody';
  return parts.length > 0 ? `${parts.join(', ')} and ${last}` : last;
}
