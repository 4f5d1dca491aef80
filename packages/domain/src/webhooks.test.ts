import { describe, expect, it } from 'vitest';
import {
  BEAMS_WEBHOOK_RETRY_DELAYS_MS,
  checkWebhookUrl,
  isWebhookEventFilter,
  nextWebhookStep,
  webhookWants,
  WEBHOOK_RETRY_DELAYS_MS,
} from './webhooks.ts';

const now = new Date('2026-05-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const DAY = 24 * 3600_000;

describe('nextWebhookStep', () => {
  it('a 2xx delivers and ends the failure streak', () => {
    expect(nextWebhookStep({ status: 204, error: null }, 3, ago(DAY), now)).toEqual({ delivery: 'delivered', failingSince: null });
  });

  it('a failure retries after the next delay: the first retry within 30 s, all of them over about a day', () => {
    const step = nextWebhookStep({ status: 500, error: null }, 1, null, now);
    expect(step).toEqual({ delivery: 'retry', nextAttemptAt: new Date(now.getTime() + WEBHOOK_RETRY_DELAYS_MS[0]!), failingSince: now });
    expect(WEBHOOK_RETRY_DELAYS_MS[0]).toBeLessThanOrEqual(30_000);
    const total = WEBHOOK_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0.9 * DAY);
    expect(total).toBeLessThan(1.1 * DAY);
  });

  it('fails the delivery once the delays are used up, without disabling a webhook that failed for less than 3 days', () => {
    expect(nextWebhookStep({ status: null, error: 'timeout' }, WEBHOOK_RETRY_DELAYS_MS.length + 1, ago(DAY), now)).toEqual({
      delivery: 'failed',
      failingSince: ago(DAY),
      disable: null,
    });
  });

  it('disables on 410, and after 3 days of failures, saying why', () => {
    const gone = nextWebhookStep({ status: 410, error: null }, 1, null, now);
    expect(gone).toMatchObject({ delivery: 'failed', disable: expect.stringContaining('410') });
    const tired = nextWebhookStep({ status: 503, error: null }, 2, ago(3 * DAY), now);
    expect(tired).toMatchObject({ delivery: 'failed', disable: expect.stringContaining('HTTP 503') });
    expect(nextWebhookStep({ status: 503, error: null }, 2, ago(3 * DAY - 1000), now)).toMatchObject({ delivery: 'retry' });
  });
});

describe('webhook URLs and events', () => {
  it('public https hosts pass; private ones pass only when allowed', () => {
    expect(checkWebhookUrl('https://hooks.example.com/x', []).ok).toBe(true);
    expect(checkWebhookUrl('https://10.0.0.1/x', [])).toMatchObject({ ok: false, error: { rule: 'private_host' } });
    expect(checkWebhookUrl('https://10.0.0.1/x', ['10.0.0.1']).ok).toBe(true);
    expect(checkWebhookUrl('http://hooks.example.com/x', [])).toMatchObject({ ok: false, error: { rule: 'https_required' } });
  });

  it('filters match types, groups and *', () => {
    expect(isWebhookEventFilter('notification.*')).toBe(true);
    expect(isWebhookEventFilter('notifications.*')).toBe(false);
    expect(webhookWants(['notification.*'], 'notification.completed')).toBe(true);
    expect(webhookWants(['notification.*'], 'subscription.pruned')).toBe(false);
    expect(webhookWants(['*'], 'quota.exhausted')).toBe(true);
  });
});

describe("Beams' webhooks", () => {
  it("retry on Beams' schedule: four times, 10 s, 30 s, 120 s and 300 s after the attempt before, then the delivery fails", () => {
    const waits: number[] = [];
    let at = now;
    for (let attempt = 1; ; attempt += 1) {
      const step = nextWebhookStep({ status: 500, error: null }, attempt, now, at, BEAMS_WEBHOOK_RETRY_DELAYS_MS);
      if (step.delivery !== 'retry') {
        expect(step).toEqual({ delivery: 'failed', failingSince: now, disable: null });
        break;
      }
      waits.push(step.nextAttemptAt.getTime() - at.getTime());
      at = step.nextAttemptAt;
    }
    expect(waits).toEqual([10_000, 30_000, 120_000, 300_000]);
  });

  it('go only to webhooks that name them: * and groups are Pushcast events', () => {
    expect(webhookWants(['*'], 'v1.UserNotificationOpen')).toBe(false);
    expect(webhookWants(['v1.UserNotificationOpen'], 'v1.UserNotificationOpen')).toBe(true);
    expect(webhookWants(['v1.UserNotificationOpen'], 'v1.PublishToUsersAttempt')).toBe(false);
    expect(isWebhookEventFilter('v1.PublishToUsersAttempt')).toBe(true);
    expect(isWebhookEventFilter('v1.*')).toBe(false);
  });
});
