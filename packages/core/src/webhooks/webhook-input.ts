import { checkWebhookUrl, isWebhookEventFilter, ruleParam } from '@pushcast/domain';
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

/** The bodies of create and update (strict: an unknown field is refused). */
export function webhookBodies(allowedHosts: readonly string[]) {
  const url = webhookUrl(allowedHosts);
  return {
    create: z.strictObject({ url, events: webhookEvents.optional(), description: webhookDescription.optional() }),
    update: z.strictObject({
      url: url.optional(),
      events: webhookEvents.optional(),
      description: webhookDescription.optional(),
      enabled: z.boolean().optional(),
    }),
  };
}

export type WebhookCreateInput = z.infer<ReturnType<typeof webhookBodies>['create']>;
export type WebhookUpdateInput = z.infer<ReturnType<typeof webhookBodies>['update']>;
