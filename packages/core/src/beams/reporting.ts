import { notFound, type Project } from '@pushcast/domain';
import { findBeamsDevice, findNotificationIdByExternalId, recordOpen } from '@pushcast/store';
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

export async function reportBeamsEvent(deps: Pick<CoreDeps, 'db'>, project: Project, raw: unknown): Promise<BeamsReportOutcome> {
  const report = parseInput(beamsReportBody, raw, 'body');
  const notificationId = await findNotificationIdByExternalId(deps.db, project.id, report.publishId);
  if (notificationId === null) throw notFound(`publish ${report.publishId}`);
  if (report.event === 'delivery') return 'acknowledged';
  // A device deleted since (the SDK's stop()) can no longer be told apart from a stranger's guess.
  const device = await findBeamsDevice(deps.db, project.id, null, report.deviceId);
  if (!device) return 'device_gone';
  return (await recordOpen(deps.db, { notificationId, subscriptionId: device.subscriptionId, action: null })) ? 'counted' : 'already_counted';
}
