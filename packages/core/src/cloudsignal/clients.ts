import { notFound, type Project, type Subscription, type SubscriptionState } from '@pushcast/domain';
import { deliveredCounts, findSubscriptionInAnyState, listSubscriptionsWindow, retireSubscriptions, type AudienceFilter } from '@pushcast/store';
import { z } from 'zod';
import type { CoreDeps } from '../deps.ts';
import { userEmail } from '../input/email.ts';
import { idParam } from '../input/fields.ts';
import { parseInput } from '../input/parse.ts';
import { deviceInfoOf, type DeviceInfo } from './device-info.ts';

/**
 * CloudSignal's clients: a registration is a Pushcast subscription, its registration_id the
 * subscription's id as a string. Its status: `expired` (a push service said it is gone: pruned),
 * `unregistered` (deregistered here), both listed for 30 days and never targeted; `inactive` (still
 * subscribed and targeted, but not seen, registered again or clicked, for INACTIVE_AFTER_DAYS);
 * else `active`.
 */
export const INACTIVE_AFTER_DAYS = 30;
const DAY_MS = 86_400_000;
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
  /** Its last registration, change or click. */
  readonly lastActive: Date;
  readonly deviceInfo: DeviceInfo;
}

const lastSeen = (s: Subscription): Date => (s.lastClickAt && s.lastClickAt > s.updatedAt ? s.lastClickAt : s.updatedAt);

function statusOf(s: Subscription, nowMs: number): ClientStatus {
  if (s.state !== 'active') return s.state;
  return lastSeen(s).getTime() < nowMs - INACTIVE_AFTER_DAYS * DAY_MS ? 'inactive' : 'active';
}

/** The subscriptions a status lists. */
function statusFilter(status: ClientStatus | undefined, nowMs: number): Pick<AudienceFilter, 'states' | 'seenBefore'> {
  const inactiveBefore = new Date(nowMs - INACTIVE_AFTER_DAYS * DAY_MS);
  switch (status) {
    case undefined:
      return { states: ['active', 'expired', 'unregistered'] satisfies SubscriptionState[] };
    case 'active':
      return { seenBefore: { at: inactiveBefore, before: false } };
    case 'inactive':
      return { seenBefore: { at: inactiveBefore, before: true } };
    case 'expired':
    case 'unregistered':
      return { states: [status] };
    default: {
      const never: never = status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

async function clientsOf(deps: Pick<CoreDeps, 'db'>, project: Project, subscriptions: readonly Subscription[]): Promise<Client[]> {
  const counts = await deliveredCounts(deps.db, project.id, subscriptions.map((s) => s.id));
  const now = Date.now();
  return subscriptions.map((s) => ({
    subscription: s,
    status: statusOf(s, now),
    notificationCount: counts.get(s.id) ?? 0,
    lastActive: lastSeen(s),
    deviceInfo: deviceInfoOf(s.userAgent),
  }));
}

export interface ClientPage {
  readonly clients: readonly Client[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export async function listClients(deps: Pick<CoreDeps, 'db'>, project: Project, raw: unknown): Promise<ClientPage> {
  const q = parseInput(clientsQuery, raw, 'query');
  const filter: AudienceFilter = { projectId: project.id, ...(q.user_email ? { emails: [q.user_email] } : {}), ...statusFilter(q.status, Date.now()) };
  const { subscriptions, total } = await listSubscriptionsWindow(deps.db, filter, { limit: q.limit, offset: q.offset });
  return { clients: await clientsOf(deps, project, subscriptions), total, limit: q.limit, offset: q.offset };
}

export async function getClient(deps: Pick<CoreDeps, 'db'>, project: Project, rawParams: unknown): Promise<Client> {
  const { registration_id: id } = parseInput(registrationIdParams, rawParams, 'params');
  const s = await findSubscriptionInAnyState(deps.db, project.id, id);
  if (!s) throw notFound(`client registration ${id}`);
  return (await clientsOf(deps, project, [s]))[0]!;
}

/**
 * `DELETE /v2/push/clients/{registration_id}?reason=`: the registration is never sent to again, and
 * stays listed as `unregistered` for 30 days. Deregistering one already gone changes nothing.
 */
export async function deregisterClient(deps: Pick<CoreDeps, 'db' | 'logger'>, project: Project, rawParams: unknown, reason: string | null): Promise<number> {
  const { registration_id: id } = parseInput(registrationIdParams, rawParams, 'params');
  const s = await findSubscriptionInAnyState(deps.db, project.id, id);
  if (!s) throw notFound(`client registration ${id}`);
  if (await retireSubscriptions(deps.db, project.id, [id], 'unregistered')) {
    deps.logger.info({ projectId: project.id, subscriptionId: id, reason }, 'client deregistered');
  }
  return id;
}
