import { readFileSync } from 'node:fs';
import apn from '@parse/node-apn';

/**
 * The notification Pushcast sent, as node-apn builds it: MESSAGE_FILE holds its payload and
 * headers (mobile.bench.ts writes it), TOPIC the app's bundle id. Shared by the APNs baselines
 * (baseline-apns.ts, lean-apns.ts) so that they send the same bytes as the worker.
 */
export function apnsNoteOfMessageFile(): apn.Notification {
  const message = JSON.parse(readFileSync(process.env.MESSAGE_FILE ?? '', 'utf8')) as {
    payload: Record<string, unknown>;
    pushType: string;
    priority: number;
    expiration: number;
    collapseId?: string;
  };
  const note = new apn.Notification();
  note.rawPayload = message.payload;
  note.topic = process.env.TOPIC ?? '';
  note.pushType = message.pushType as apn.NotificationPushType;
  note.priority = message.priority;
  note.expiry = message.expiration;
  if (message.collapseId) note.collapseId = message.collapseId;
  return note;
}
