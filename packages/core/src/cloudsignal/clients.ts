import { notFound, type Project, type Subscription } from '@pushcast/domain';
import { deleteSubscription, deliveredCounts, findSubscription, listSubscriptionsWindow } from '@pushcast/store';
import { z } from 'zod';
import type { CoreDeps } from '../deps.ts';
import { userEmail } from '../input/email.ts';
import { idParam } from '../input/fields.ts';
import { parseInput } from '../input/parse.ts';

/**
 * CloudSignal's clients: a registration is a Pushcast subscription, its registration_id the
 * subscription's id as a string.
 */
export const CLIENT_STATUSES = ['active', 'inactive', 'expired', 'unregistered'] as const;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

const decimal = (max: number, min: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^(0|[1-9][0-9]{0,9})$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));

/** `GET /v2/push/clients?status&user_email&limit&offset` (limit: default 100, at most 1,000). */
export const clientsQuery = z.object({
  status: z.enum(CLIENT_STATUSES).optional(),
  user_email: userEmail.optional(),
  limit: decimal(1000, 1).default(100),
  offset: decimal(1_000_000_000, 0).default(0),
});
export type ClientsQuery = z.output<typeof clientsQuery>;

export const registrationIdParams = z.object({ registration_id: idParam });

export interface Client {
  readonly subscription: Subscription;
  readonly status: ClientStatus;
  /** Its recorded deliveries (see deliveredCounts). */
  readonly notificationCount: number;
}

export interface ClientPage {
  readonly clients: readonly Client[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export async function listClients(deps: Pick<CoreDeps, 'db'>, project: Project, raw: unknown): Promise<ClientPage> {
  const q = parseInput(clientsQuery, raw, 'query');
  const filter = { projectId: project.id, ...(q.user_email ? { emails: [q.user_email] } : {}) };
  // Every subscription Pushcast keeps is active: the gone ones are deleted when a push service says so.
  if (q.status !== undefined && q.status !== 'active') return { clients: [], total: 0, limit: q.limit, offset: q.offset };
  const { subscriptions, total } = await listSubscriptionsWindow(deps.db, filter, { limit: q.limit, offset: q.offset });
  const counts = await deliveredCounts(deps.db, project.id, subscriptions.map((s) => s.id));
  return {
    clients: subscriptions.map((s) => ({ subscription: s, status: 'active', notificationCount: counts.get(s.id) ?? 0 })),
    total,
    limit: q.limit,
    offset: q.offset,
  };
}

export async function getClient(deps: Pick<CoreDeps, 'db'>, project: Project, rawParams: unknown): Promise<Client> {
  const { registration_id: id } = parseInput(registrationIdParams, rawParams, 'params');
  const s = await findSubscription(deps.db, project.id, id);
  if (!s) throw notFound(`client registration ${id}`);
  const counts = await deliveredCounts(deps.db, project.id, [id]);
  return { subscription: s, status: 'active', notificationCount: counts.get(id) ?? 0 };
}

/** `DELETE /v2/push/clients/{registration_id}?reason=`: the registration is never sent to again. */
export async function deregisterClient(deps: Pick<CoreDeps, 'db' | 'logger'>, project: Project, rawParams: unknown, reason: string | null): Promise<number> {
  const { registration_id: id } = parseInput(registrationIdParams, rawParams, 'params');
  if (!(await deleteSubscription(deps.db, project.id, id))) throw notFound(`client registration ${id}`);
  deps.logger.info({ projectId: project.id, subscriptionId: id, reason }, 'client deregistered');
  return id;
}
