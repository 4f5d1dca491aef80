import type { LiveStats, PlatformStats } from '@pushcast/core';
import type {
  AccessToken,
  CredentialsState,
  DeliveryRecord,
  Notification,
  NotificationStats,
  Platform,
  Project,
  ProjectCredentialsSummary,
  ProjectSecretKey,
  Sender,
  Subscription,
  Webhook,
  WebhookAttempt,
} from '@pushcast/domain';
import type { SubscriptionImport } from '@pushcast/store';
import type {
  AccessTokenAnswer,
  DeliveryRecordAnswer,
  ImportAnswer,
  NotificationAnswer,
  ProjectAnswer,
  SecretKeyAnswer,
  SenderAnswer,
  SubscriptionAnswer,
  WebhookAnswer,
  WebhookAttemptAnswer,
} from './answers.ts';

/** Domain → JSON in Pushpad's field names, typed by the answer schemas the routes declare (answers.ts). */

/** `privateKey` null: this process cannot open it (no PUSHCAST_SECRET_KEY, or sealed under a key it was not given). */
export const senderJson = (s: Sender, privateKey: string | null): SenderAnswer => ({
  id: s.id,
  name: s.name,
  vapid_private_key: privateKey,
  vapid_public_key: s.vapidPublicKey,
  created_at: s.createdAt.toISOString(),
});

/** A project with Pushcast's summaries of its APNs and FCM credentials (never the keys themselves). */
export const projectJson = (p: Project, credentials: ProjectCredentialsSummary): ProjectAnswer => ({
  id: p.id,
  sender_id: p.senderId,
  name: p.name,
  website: p.website,
  icon_url: p.iconUrl,
  badge_url: p.badgeUrl,
  notifications_ttl: p.notificationsTtl,
  notifications_require_interaction: p.notificationsRequireInteraction,
  notifications_silent: p.notificationsSilent,
  created_at: p.createdAt.toISOString(),
  // Pushcast's quotas as set (null = the deployment's default; GET …/quota shows what applies).
  quota_hourly: p.quota.hourly,
  quota_daily: p.quota.daily,
  quota_policy: p.quota.policy,
  // Pushcast's browser side: null = the website's origin.
  allowed_origins: p.allowedOrigins,
  browser_tags_allowed: p.browserTagsAllowed,
  // Pushcast's Beams dialect: the project as a Beams instance.
  beams_instance_id: p.beamsInstanceId,
  // Pushcast's delivery records: `failures` (who did not get a notification) or `all`.
  record_deliveries: p.recordDeliveries,
  apns_credentials: credentials.apns && {
    key_id: credentials.apns.keyId,
    team_id: credentials.apns.teamId,
    topic: credentials.apns.topic,
    production: credentials.apns.production,
    updated_at: credentials.apns.updatedAt.toISOString(),
    ...credentialsStateJson(credentials.apns),
  },
  fcm_credentials: credentials.fcm && {
    project_id: credentials.fcm.projectId,
    client_email: credentials.fcm.clientEmail,
    private_key_id: credentials.fcm.privateKeyId,
    updated_at: credentials.fcm.updatedAt.toISOString(),
    ...credentialsStateJson(credentials.fcm),
  },
  web_push: credentialsStateJson(credentials.web),
});

/** `active`, or `rejected` by the provider (with its reason) until the credentials are set again. */
const credentialsStateJson = (c: Omit<CredentialsState, 'updatedAt'>) => ({
  status: c.status,
  rejected_reason: c.rejectedReason,
  rejected_at: c.rejectedAt?.toISOString() ?? null,
});

/** One recipient's record: who, on which platform, what became of them and what the provider said. */
export const deliveryRecordJson = (r: DeliveryRecord): DeliveryRecordAnswer => ({
  subscription_id: r.subscriptionId,
  uid: r.uid,
  platform: r.platform,
  outcome: r.outcome,
  status: r.status,
  reason: r.reason,
  at: r.at.toISOString(),
});

export const subscriptionJson = (s: Subscription): SubscriptionAnswer => ({
  id: s.id,
  project_id: s.projectId,
  // Pushpad's fields first; `platform` and `token` are Pushcast's additions for APNs/FCM devices.
  endpoint: s.endpoint,
  p256dh: s.p256dh,
  auth: s.auth,
  uid: s.uid,
  tags: s.tags,
  last_click_at: s.lastClickAt?.toISOString() ?? null,
  created_at: s.createdAt.toISOString(),
  platform: s.platform,
  ...(s.platform === 'web' ? {} : { token: s.deviceToken }),
  user_email: s.userEmail,
});

/** A secret key as listed: never the key itself (shown once, when created). */
export const secretKeyJson = (k: ProjectSecretKey): SecretKeyAnswer => ({
  id: k.id,
  project_id: k.projectId,
  prefix: k.prefix,
  created_at: k.createdAt.toISOString(),
});

export const accessTokenJson = (t: AccessToken): AccessTokenAnswer => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  admin: t.admin,
  project_ids: t.projectIds,
  created_at: t.createdAt.toISOString(),
});

const failedCount = (s: NotificationStats): number => Object.values(s.failed).reduce((a, b) => a + b, 0);

const platformJson = ({ planned, stats }: PlatformStats) => ({
  scheduled_count: planned,
  successfully_sent_count: stats.delivered,
  pruned_count: stats.pruned,
  expired_count: stats.expired,
  failed_count: failedCount(stats),
  failures: stats.failed,
});

export const notificationJson = (n: Notification, { total: stats, platforms, opens }: LiveStats): NotificationAnswer => {
  return {
    id: n.id,
    project_id: n.projectId,
    title: n.title,
    body: n.body,
    target_url: n.targetUrl,
    icon_url: n.iconUrl,
    badge_url: n.badgeUrl,
    image_url: n.imageUrl,
    ttl: n.ttl,
    require_interaction: n.requireInteraction,
    silent: n.silent,
    urgent: n.urgent,
    custom_data: n.customData,
    actions: n.actions.map((a) => ({ title: a.title, target_url: a.targetUrl, icon: a.icon, action: a.action })),
    starred: n.starred,
    send_at: n.sendAt?.toISOString() ?? null,
    custom_metrics: n.customMetrics,
    topic: n.topic,
    throttle_rate_per_minute: n.throttleRatePerMinute,
    uids: n.targetUids,
    tags: n.targetTags,
    // Pushcast's per-platform overrides, as given on create.
    web: n.overrides.web ?? null,
    apns: n.overrides.apns ?? null,
    fcm: n.overrides.fcm ?? null,
    created_at: n.createdAt.toISOString(),
    // Pushpad's statistics.
    scheduled_count: n.scheduledCount,
    successfully_sent_count: stats.delivered,
    opened_count: opens?.count ?? 0,
    scheduled: n.status === 'scheduled',
    cancelled: n.status === 'cancelled',
    // Pushcast's: where the broadcast is, and what happened to everyone it did not reach.
    status: n.status,
    pruned_count: stats.pruned,
    expired_count: stats.expired,
    failed_count: failedCount(stats),
    failures: stats.failed,
    // Pushcast's: how many of the opens came through each action (keyed by `action`, or the title).
    opened_actions: opens?.actions ?? {},
    platforms: { web: platformJson(platforms.web), apns: platformJson(platforms.apns), fcm: platformJson(platforms.fcm) },
    completed_at: n.completedAt?.toISOString() ?? null,
  };
};

/** A webhook; its secret is added only to the answers of create and rotate_secret. */
export const webhookJson = (w: Webhook): WebhookAnswer => ({
  id: w.id,
  project_id: w.projectId,
  url: w.url,
  format: w.format,
  custom_data: w.customData,
  events: w.events,
  description: w.description,
  enabled: w.enabled,
  disabled_reason: w.disabledReason,
  created_at: w.createdAt.toISOString(),
  updated_at: w.updatedAt.toISOString(),
});

export const webhookAttemptJson = (a: WebhookAttempt): WebhookAttemptAnswer => ({
  event_id: a.eventId,
  type: a.type,
  attempt: a.attempt,
  status: a.status,
  duration_ms: a.durationMs,
  error: a.error,
  at: a.at.toISOString(),
});

/** A bulk import and what became of its rows (errors: the first 1,000 rejected, 1-based lines). */
export const importJson = (i: SubscriptionImport): ImportAnswer => ({
  id: i.id,
  project_id: i.projectId,
  format: i.format,
  status: i.status,
  rows: i.rows,
  inserted: i.inserted,
  updated: i.updated,
  rejected: i.rejected,
  errors: i.errors.map((e) => ({ line: e.line, field: e.field, rule: e.rule, message: e.message })),
  failure: i.failure,
  created_at: i.createdAt.toISOString(),
  finished_at: i.finishedAt?.toISOString() ?? null,
});

/** One recipient's outcome in a waited-for create (`?wait=`), from its delivery record. */
export const recipientResultJson = (r: DeliveryRecord) => ({
  subscription_id: r.subscriptionId,
  uid: r.uid,
  platform: r.platform,
  outcome: r.outcome,
  provider_status: r.status,
  reason: r.reason,
});
