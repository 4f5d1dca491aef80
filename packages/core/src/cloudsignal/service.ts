import { effectiveQuota, notFound, vapidApplicationServerKey, type Project } from '@pushcast/domain';
import { estimateAudience, findSender } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/** Exact counts up to this; PostgreSQL's estimate above (a million-row count is not worth an info page). */
const EXACT_UP_TO = 100_000;

export interface ServiceInfo {
  readonly project: Project;
  readonly vapidPublicKey: string;
  readonly hourlyLimit: number | null;
  readonly dailyLimit: number | null;
  /** Subscriptions on every platform. */
  readonly activeRegistrations: number;
  /** Browser (Web Push) subscriptions. */
  readonly pushSubscribers: number;
}

/** `GET /v2/push/service`: the project as CloudSignal's "PWA service". Limits: null = unlimited. */
export async function serviceInfo(deps: Pick<CoreDeps, 'db' | 'config'>, project: Project): Promise<ServiceInfo> {
  const [sender, all, web] = await Promise.all([
    findSender(deps.db, project.senderId),
    estimateAudience(deps.db, { projectId: project.id }, EXACT_UP_TO),
    estimateAudience(deps.db, { projectId: project.id, platform: 'web' }, EXACT_UP_TO),
  ]);
  if (!sender) throw notFound(`the sender of project ${project.id}`);
  const limits = effectiveQuota(project.quota, deps.config.defaultQuota);
  return {
    project,
    vapidPublicKey: vapidApplicationServerKey(sender.vapidPublicKey),
    hourlyLimit: limits.hourly === 0 ? null : limits.hourly,
    dailyLimit: limits.daily === 0 ? null : limits.daily,
    activeRegistrations: all.count,
    pushSubscribers: web.count,
  };
}
