import { BEAMS_WEBHOOK_EVENT_TYPES, newWebhookSecret, notFound, PushcastError, WEBHOOK_SECRET_OVERLAP_MS, type Webhook } from '@pushcast/domain';
import {
  deleteWebhook as deleteRow,
  emitWebhookTestEvent,
  findWebhook,
  insertWebhook,
  rotateWebhookSecret as rotateRow,
  updateWebhook as updateRow,
} from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';
import { eventsFitFormat, type WebhookCreateInput, type WebhookUpdateInput } from './webhook-input.ts';

type Deps = Pick<CoreDeps, 'db' | 'config'>;

/** A webhook with its secret: answered once, when created or rotated, and never again. */
export interface WebhookWithSecret {
  readonly webhook: Webhook;
  readonly secret: string;
}

/** Secrets are sealed under PUSHCAST_SECRET_KEY; without it there is nothing to sign with (409, as for credentials). */
function sealingKey(deps: Deps): Buffer {
  const key = deps.config.secretKeys.current;
  if (key === undefined) {
    throw new PushcastError(
      'conflict',
      'webhooks: cannot store a signing secret: set PUSHCAST_SECRET_KEY (32 random bytes, e.g. `openssl rand -base64 32`) ' +
        'on the API and the workers to keep webhook secrets encrypted at rest',
      { rule: 'secret_key_not_configured' },
    );
  }
  return key;
}

export async function createWebhook(deps: Deps, projectId: number, input: WebhookCreateInput): Promise<WebhookWithSecret> {
  const key = sealingKey(deps);
  const format = input.format ?? 'standard';
  // A Beams webhook may keep the secret its receiver has; it takes Beams' three events by default.
  const secret = input.secret ?? newWebhookSecret();
  const events = input.events ?? (format === 'beams' ? [...BEAMS_WEBHOOK_EVENT_TYPES] : ['*']);
  const webhook = await insertWebhook(
    deps.db,
    key,
    { projectId, url: input.url, format, customData: input.custom_data ?? {}, events, description: input.description ?? '' },
    secret,
  );
  return { webhook, secret };
}

export async function getWebhook(deps: Pick<CoreDeps, 'db'>, projectId: number, id: number): Promise<Webhook> {
  const webhook = await findWebhook(deps.db, projectId, id);
  if (!webhook) throw notFound(`webhook ${id}`);
  return webhook;
}

/** Changes what is given; `enabled: true` turns a disabled webhook back on (its pending deliveries resume). */
export async function updateWebhook(deps: Pick<CoreDeps, 'db'>, projectId: number, id: number, input: WebhookUpdateInput): Promise<Webhook> {
  if (input.events !== undefined || input.custom_data !== undefined) {
    // The format stays: what is changed must fit the one the webhook has.
    const { format } = await getWebhook(deps, projectId, id);
    const misfit = input.events ? eventsFitFormat(input.events, format) : null;
    if (misfit) throw new PushcastError('validation', `events: ${misfit}`, { field: 'events', rule: 'webhook_format' });
    if (input.custom_data !== undefined && format !== 'beams') {
      throw new PushcastError('validation', 'custom_data: only webhooks of format beams take it', { field: 'custom_data', rule: 'webhook_format' });
    }
  }
  const webhook = await updateRow(deps.db, projectId, id, {
    ...(input.url === undefined ? {} : { url: input.url }),
    ...(input.events === undefined ? {} : { events: input.events }),
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
    ...(input.custom_data === undefined ? {} : { customData: input.custom_data }),
  });
  if (!webhook) throw notFound(`webhook ${id}`);
  return webhook;
}

export async function deleteWebhook(deps: Pick<CoreDeps, 'db'>, projectId: number, id: number): Promise<void> {
  if (!(await deleteRow(deps.db, projectId, id))) throw notFound(`webhook ${id}`);
}

/** A new secret; the previous one keeps signing beside it for 24 hours. */
export async function rotateWebhookSecret(deps: Deps, projectId: number, id: number): Promise<WebhookWithSecret> {
  const key = sealingKey(deps);
  const secret = newWebhookSecret();
  if (!(await rotateRow(deps.db, key, projectId, id, secret, WEBHOOK_SECRET_OVERLAP_MS))) throw notFound(`webhook ${id}`);
  return { webhook: await getWebhook(deps, projectId, id), secret };
}

/** Sends a `webhook.test` event to this webhook only; returns its event id. */
export async function testWebhook(deps: Pick<CoreDeps, 'db'>, projectId: number, id: number): Promise<string> {
  const eventId = await emitWebhookTestEvent(deps.db, projectId, id);
  if (eventId === null) throw notFound(`webhook ${id}`);
  return eventId;
}
