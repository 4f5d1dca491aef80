import { notFound, type Project } from '@pushcast/domain';
import { emitWebhookEvent, findBeamsDevice, findNotificationIdByExternalId, inTransaction, recordOpen } from '@pushcast/store';
import { z } from 'zod';
import type { CoreDeps } from '../deps.ts';
import { parseInput } from '../input/parse.ts';

/**
 * Beams' Reporting API: the SDKs report that a publish was delivered to a device or opened on it.
 * An open counts on the notification as a Pushpad click does (once per recipient, the
 * subscription's last click time); a delivery is already counted where the push service accepted
 * the message, so it is acknowledged and not counted again.
 */
export const beamsReportBody = z.looseObject({
  event: z.enum(['delivery', 'open']),
  publishId: z.string().min(1).max(200),
  deviceId: z.string().min(1).max(200),
  userId: z.string().nullable().optional(),
  timestampSecs: z.number().int().min(0),
  appInBackground: z.boolean().nullable().optional(),
  hasDisplayableContent: z.boolean().nullable().optional(),
  hasData: z.boolean().nullable().optional(),
});

export type BeamsReportOutcome = 'counted' | 'already_counted' | 'acknowledged' | 'device_gone';

/**
 * Beams' webhook events of a report: `v1.UserNotificationAcknowledgement` (delivery) and
 * `v1.UserNotificationOpen` (open), once per publish and device, for a device bound to a user. The
 * user is the device's as Pushcast knows it (set with a verified user token), not the `userId` the
 * report claims: the Reporting API takes reports from anyone.
 */
const WEBHOOK_EVENTS = { delivery: 'v1.UserNotificationAcknowledgement', open: 'v1.UserNotificationOpen' } as const;

export async function reportBeamsEvent(deps: Pick<CoreDeps, 'db'>, project: Project, raw: unknown): Promise<BeamsReportOutcome> {
  const report = parseInput(beamsReportBody, raw, 'body');
  const notificationId = await findNotificationIdByExternalId(deps.db, project.id, report.publishId);
  if (notificationId === null) throw notFound(`publish ${report.publishId}`);
  // A device deleted since (the SDK's stop()) can no longer be told apart from a stranger's guess.
  const device = await findBeamsDevice(deps.db, project.id, null, report.deviceId);
  if (!device) return report.event === 'delivery' ? 'acknowledged' : 'device_gone';
  return inTransaction(deps.db, async (tx) => {
    // Opens count as a Pushpad click does; deliveries are counted where the push service accepted them.
    const outcome: BeamsReportOutcome =
      report.event === 'delivery'
        ? 'acknowledged'
        : (await recordOpen(tx, { notificationId, subscriptionId: device.subscriptionId, action: null }))
          ? 'counted'
          : 'already_counted';
    if (device.userId !== null) {
      const type = WEBHOOK_EVENTS[report.event];
      await emitWebhookEvent(
        tx,
        project.id,
        type,
        { instance_id: project.beamsInstanceId, publish_id: report.publishId, user_id: device.userId },
        `${type}:${notificationId}:${device.subscriptionId}`,
      );
    }
    return outcome;
  });
}
