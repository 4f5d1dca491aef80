import type { AccessToken, Project, Sender, Subscription } from '@pushcast/domain';

/** Domain → JSON in Pushpad's field names. */

export const senderJson = (s: Sender) => ({
  id: s.id,
  name: s.name,
  vapid_private_key: s.vapidPrivateKey,
  vapid_public_key: s.vapidPublicKey,
  created_at: s.createdAt.toISOString(),
});

export const projectJson = (p: Project) => ({
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
});

export const subscriptionJson = (s: Subscription) => ({
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
});

export const accessTokenJson = (t: AccessToken) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  admin: t.admin,
  project_ids: t.projectIds,
  created_at: t.createdAt.toISOString(),
});
