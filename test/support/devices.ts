import { createHash } from 'node:crypto';
import { generateApnsKey, type ApnsCredentialForTests } from '@pushcast/local-apns-service';
import { generateServiceAccount, type GeneratedServiceAccount } from '@pushcast/local-fcm-service';
import { call } from './http.ts';
import type { Pipeline } from './pipeline.ts';
import { testRsaKeyPair } from './rsa-keys.ts';

/** A 32-byte APNs device token as hex, derived from a label so that tests can name devices. */
export const apnsToken = (label: string): string => createHash('sha256').update(label).digest('hex');

/** An FCM registration token shaped like a real one (`<instance id>:APA91b…`). */
export const fcmToken = (label: string): string =>
  `${createHash('md5').update(label).digest('base64url').slice(0, 22)}:APA91b${createHash('sha256').update(label).digest('base64url')}`;

export interface DeviceCredentials {
  readonly apnsKey: ApnsCredentialForTests;
  readonly topic: string;
  readonly serviceAccount: GeneratedServiceAccount;
}

/**
 * New APNs and FCM credentials, trusted by the local APNs and FCM servers (unless told otherwise),
 * and set on the project through the API as a project owner would.
 */
export async function giveProjectCredentials(
  p: Pipeline,
  projectId: number,
  opts: { topic?: string; firebaseProject?: string; trustApns?: boolean; trustFcm?: boolean } = {},
): Promise<DeviceCredentials> {
  const apnsKey = generateApnsKey();
  const topic = opts.topic ?? `com.example.app${projectId}`;
  const serviceAccount = generateServiceAccount(opts.firebaseProject ?? `pushcast-test-${projectId}`, { keyPair: testRsaKeyPair() });
  if (opts.trustApns !== false) p.apns.trustKey({ keyId: apnsKey.keyId, teamId: apnsKey.teamId, keyPem: apnsKey.keyPem }, [topic]);
  if (opts.trustFcm !== false) {
    p.fcm.trustServiceAccount({ clientEmail: serviceAccount.clientEmail, projectId: serviceAccount.projectId, publicKeyPem: serviceAccount.publicKeyPem });
  }
  const res = await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, {
    token: p.server.adminToken,
    body: {
      apns_credentials: { key: apnsKey.keyPem, key_id: apnsKey.keyId, team_id: apnsKey.teamId, topic, production: true },
      fcm_credentials: { service_account: serviceAccount.json },
    },
  });
  if (res.status !== 200) throw new Error(`credentials not set: ${JSON.stringify(res.body)}`);
  return { apnsKey, topic, serviceAccount };
}

/** Subscribes a device through the API; returns the subscription's id. */
export async function subscribeDevice(
  p: Pipeline,
  projectId: number,
  platform: 'apns' | 'fcm',
  token: string,
  extra: { uid?: string; tags?: string[] } = {},
): Promise<number> {
  const res = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/subscriptions`, {
    token: p.server.adminToken,
    body: { platform, token, ...extra },
  });
  if (res.status !== 201) throw new Error(`device not subscribed: ${JSON.stringify(res.body)}`);
  return res.body.id;
}
