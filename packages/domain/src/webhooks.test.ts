import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isWebhookEventFilter, nextWebhookStep, webhookWants, WEBHOOK_RETRY_DELAYS_MS } from './webhooks.ts';

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
