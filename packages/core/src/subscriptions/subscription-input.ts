import { validationError, type Platform } from '@pushcast/domain';
import { z } from 'zod';
import { userEmail } from '../input/email.ts';
import { apnsToken, authSecret, fcmToken, p256dh, pushEndpoint, tagList, uid } from '../input/fields.ts';
import { parseInput } from '../input/parse.ts';

/** A subscription as every dialect registers it: a browser's push endpoint and keys, or a device token. */
export type SubscriptionInput =
  | {
      readonly platform: 'web';
      readonly endpoint: string;
      readonly p256dh: string;
      readonly auth: string;
      readonly uid: string | null;
      readonly tags: readonly string[];
      /** Undefined: not given (a registration again keeps the one it has). */
      readonly userEmail?: string | null | undefined;
      /** The registering browser's User-Agent (Beams' web SDK); never from a body. */
      readonly userAgent?: string | null | undefined;
    }
  | {
      readonly platform: 'apns' | 'fcm';
      readonly token: string;
      readonly uid: string | null;
      readonly tags: readonly string[];
      readonly userEmail?: string | null | undefined;
    };

/** `user_email`: optional in every body; null clears it. */
const email = userEmail.nullable().optional();

const platform = z.enum(['web', 'apns', 'fcm']);
const platformOf = z.object({ platform: platform.optional() });
const WEB_FIELDS = ['endpoint', 'p256dh', 'auth'] as const;
const deviceBodies = {
  apns: z.strictObject({ platform: z.literal('apns'), token: apnsToken, uid: uid.nullable().optional(), tags: tagList.optional(), user_email: email }),
  fcm: z.strictObject({ platform: z.literal('fcm'), token: fcmToken, uid: uid.nullable().optional(), tags: tagList.optional(), user_email: email }),
};

/** The three bodies of a subscription (the push hosts allowed are configuration): what the parser checks, and what a dialect documents. */
export function subscriptionBodies(allowedPushHosts: readonly string[]) {
  const web = z.strictObject({
    platform: z.literal('web').optional(),
    endpoint: pushEndpoint(allowedPushHosts),
    p256dh,
    auth: authSecret,
    uid: uid.nullable().optional(),
    tags: tagList.optional(),
    user_email: email,
  });
  return { web, ...deviceBodies };
}

/** The subscription update: uid, tags and user_email, each left alone when absent. */
export const subscriptionUpdate = z.strictObject({ uid: uid.nullable().optional(), tags: tagList.optional(), user_email: email });

function refuseOtherPlatformFields(body: unknown, p: Platform): void {
  if (body === null || typeof body !== 'object') return;
  const has = (field: string) => Object.hasOwn(body, field);
  if (p === 'web') {
    if (has('token')) throw validationError('token', 'not_allowed_for_platform', 'is only for platform apns or fcm (a web subscription has endpoint, p256dh and auth)');
    return;
  }
  const field = WEB_FIELDS.find(has);
  if (field) throw validationError(field, 'not_allowed_for_platform', `is not allowed for platform ${p} (a device subscription has a token)`);
}

/**
 * The parser of Pushpad's subscription body, extended to devices: a browser's (`platform` absent or
 * "web") or a device's (`platform` "apns" or "fcm" with a `token`). The platform is read first, so
 * that a field of the other kind is refused by name instead of as an unknown field. Built once per
 * deployment (the push hosts allowed are configuration); bulk import runs every row through it.
 */
export function subscriptionParser(allowedPushHosts: readonly string[]): (raw: unknown) => SubscriptionInput {
  const { web: webBody } = subscriptionBodies(allowedPushHosts);
  return (raw) => {
    const p = parseInput(platformOf, raw, 'body').platform ?? 'web';
    refuseOtherPlatformFields(raw, p);
    if (p !== 'web') {
      const device = parseInput(deviceBodies[p], raw, 'body');
      return { platform: p, token: device.token, uid: device.uid ?? null, tags: device.tags ?? [], userEmail: device.user_email };
    }
    const web = parseInput(webBody, raw, 'body');
    return {
      platform: 'web',
      endpoint: web.endpoint,
      p256dh: web.p256dh,
      auth: web.auth,
      uid: web.uid ?? null,
      tags: web.tags ?? [],
      userEmail: web.user_email,
    };
  };
}
