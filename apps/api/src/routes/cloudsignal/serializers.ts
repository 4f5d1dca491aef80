import type { Client, CloudSignalSendResult, QuotaStatus, ServiceInfo } from '@pushcast/core';
import type { Project } from '@pushcast/domain';

/**
 * CloudSignal's answers from the core's values. Its organisation is Pushcast's sender (the VAPID
 * identity a project's subscriptions are bound to) and its "PWA service" the project.
 */
export const organizationId = (p: Project): string => `org_${p.senderId}`;
export const serviceId = (p: Project): string => `svc_${p.id}`;

export function sendJson(r: CloudSignalSendResult) {
  return {
    request_id: r.requestId,
    total_targets: r.totalTargets,
    successful_sends: r.successfulSends,
    failed_sends: r.failedSends,
    invalid_registrations: r.invalidRegistrations,
    message:
      r.status === 'completed'
        ? 'Notifications sent successfully'
        : r.status === 'cancelled'
          ? 'Notifications cancelled'
          : 'Notifications queued for processing',
    status: r.status,
    notification_id: r.notificationId,
  };
}

export function quotaJson(project: Project, q: QuotaStatus) {
  return {
    organization_id: organizationId(project),
    service_id: serviceId(project),
    hourly_limit: q.hourlyLimit === 0 ? null : q.hourlyLimit,
    daily_limit: q.dailyLimit === 0 ? null : q.dailyLimit,
    hourly_remaining: q.hourlyRemaining,
    daily_remaining: q.dailyRemaining,
    reset_hourly_at: q.resetHourlyAt.toISOString(),
    reset_daily_at: q.resetDailyAt.toISOString(),
  };
}

export function clientJson(project: Project, c: Client) {
  const s = c.subscription;
  const d = c.deviceInfo;
  return {
    registration_id: String(s.id),
    organization_id: organizationId(project),
    service_id: serviceId(project),
    status: c.status,
    is_active: c.status === 'active' || c.status === 'inactive',
    // Pushcast does not hold a connection to clients, nor learn whether a PWA is installed.
    is_online: false,
    is_installed: false,
    // Still targeted: gone ones (expired, unregistered) are not.
    is_subscribed: c.status === 'active' || c.status === 'inactive',
    user_email: s.userEmail,
    uid: s.uid,
    platform: s.platform,
    last_active: c.lastActive.toISOString(),
    notification_count: c.notificationCount,
    device_info: { browser_name: d.browserName, browser_version: d.browserVersion, os_name: d.osName, device_type: d.deviceType },
    created_at: s.createdAt.toISOString(),
  };
}

export function serviceJson(info: ServiceInfo) {
  const p = info.project;
  return {
    service_id: serviceId(p),
    organization_id: organizationId(p),
    service_identifier: `project-${p.id}`,
    service_name: p.name,
    vapid_public_key: info.vapidPublicKey,
    contact_email: null,
    notifications_enabled: true,
    is_active: true,
    hourly_notification_limit: info.hourlyLimit,
    daily_notification_limit: info.dailyLimit,
    active_registrations: info.activeRegistrations,
    push_subscribers: info.pushSubscribers,
  };
}
