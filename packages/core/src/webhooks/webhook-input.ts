import { BEAMS_WEBHOOK_EVENT_TYPES, checkWebhookUrl, isBeamsWebhookEvent, isWebhookEventFilter, ruleParam, WEBHOOK_FORMATS, type WebhookFormat } from '@pushcast/domain';
import { jsonValue } from '../notifications/overrides-input.ts';
import { z } from 'zod';

/** A webhook URL: https on a public host, or a host of PUSHCAST_ALLOWED_PUSH_HOSTS (the push endpoints' rules). */
export function webhookUrl(allowedHosts: readonly string[]) {
  return z.string().superRefine((v, ctx) => {
    const checked = checkWebhookUrl(v, allowedHosts);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.error.message, params: { rule: checked.error.rule } });
  });
}

export const MAX_WEBHOOK_EVENTS = 50;

/** Event types, groups (`notification.*`) or `*`; duplicates dropped. */
export const webhookEvents = z
  .array(
    z.string().max(100).refine(isWebhookEventFilter, {
      message: 'must be an event type Pushcast sends (e.g. notification.completed), a group (notification.*) or *',
      params: ruleParam('event_type'),
    }),
  )
  .min(1)
  .max(MAX_WEBHOOK_EVENTS)
  .transform((events) => [...new Set(events)]);

export const webhookDescription = z.string().max(255);

/** A Beams webhook's secret, as its owner had it at Beams (their receiver keeps verifying with it), or made by Pushcast. */
export const beamsWebhookSecret = z.string().min(8).max(255).describe("Format `beams` only: the secret the receiver verifies with (default: a new `whsec_…`)");
export const webhookCustomData = z
  .record(z.string(), jsonValue)
  .describe("Format `beams` only: Beams' `custom_data`, in the body of every request")
  .refine((d) => JSON.stringify(d).length <= 4096, { message: 'must be at most 4,096 bytes of JSON', params: ruleParam('max_length') });

const formatRule = (message: string) => ({ code: 'custom' as const, message, params: ruleParam('webhook_format') });

/** Beams' events only with format `beams`, and only those with it. */
export function eventsFitFormat(events: readonly string[], format: WebhookFormat): string | null {
  const beams = events.filter(isBeamsWebhookEvent);
  if (format === 'standard' && beams.length > 0) return `${beams[0]} is a Beams event: only webhooks of format beams take it`;
  if (format === 'beams' && beams.length < events.length) return `a webhook of format beams takes only ${BEAMS_WEBHOOK_EVENT_TYPES.join(', ')}`;
  return null;
}

/** The bodies of create and update (strict: an unknown field is refused). */
export function webhookBodies(allowedHosts: readonly string[]) {
  const url = webhookUrl(allowedHosts);
  return {
    create: z
      .strictObject({
        url,
        format: z.enum(WEBHOOK_FORMATS).optional().describe("`standard` (Standard Webhooks, the default) or `beams` (Pusher Beams' requests and signature)"),
        events: webhookEvents.optional(),
        description: webhookDescription.optional(),
        secret: beamsWebhookSecret.optional(),
        custom_data: webhookCustomData.optional(),
      })
      .superRefine((body, ctx) => {
        const format = body.format ?? 'standard';
        const misfit = body.events ? eventsFitFormat(body.events, format) : null;
        if (misfit) ctx.addIssue({ ...formatRule(misfit), path: ['events'] });
        if (format !== 'beams') {
          for (const field of ['secret', 'custom_data'] as const) {
            if (body[field] !== undefined) ctx.addIssue({ ...formatRule('only webhooks of format beams take it'), path: [field] });
          }
        }
      }),
    update: z.strictObject({
      url: url.optional(),
      events: webhookEvents.optional(),
      description: webhookDescription.optional(),
      enabled: z.boolean().optional(),
      custom_data: webhookCustomData.optional(),
    }),
  };
}

export type WebhookCreateInput = z.infer<ReturnType<typeof webhookBodies>['create']>;
export type WebhookUpdateInput = z.infer<ReturnType<typeof webhookBodies>['update']>;
