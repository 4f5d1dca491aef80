import { createHash } from 'node:crypto';
import { generateApnsKey, type LocalApnsService } from '@pushcast/local-apns-service';
import { generateServiceAccount, type LocalFcmService } from '@pushcast/local-fcm-service';
import { insertDeviceSubscriptionsBulk, type Db } from '@pushcast/store';
import { seedWithFaults, type Faults } from './setup.ts';

/** The bundle id of the demo's "app", and the Firebase project of its service account. */
export const DEMO_APNS_TOPIC = 'com.example.demo';
export const DEMO_FIREBASE_PROJECT = 'pushcast-demo';

export interface DemoCredentials {
  /** The PATCH /projects/:id body, as a project owner would send it. */
  readonly body: {
    apns_credentials: { key: string; key_id: string; team_id: string; topic: string; production: boolean };
    fcm_credentials: { service_account: Record<string, string> };
  };
  readonly apnsKeyId: string;
  readonly fcmClientEmail: string;
}

/**
 * A fresh APNs key (what Apple's developer portal hands out as a .p8) and a Firebase service account,
 * trusted by the local servers the way Apple and Google know their own keys.
 */
export function demoCredentials(apns: LocalApnsService, fcm: LocalFcmService): DemoCredentials {
  const key = generateApnsKey();
  apns.trustKey({ keyId: key.keyId, teamId: key.teamId, keyPem: key.keyPem }, [DEMO_APNS_TOPIC]);
  const account = generateServiceAccount(DEMO_FIREBASE_PROJECT);
  fcm.trustServiceAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKeyPem: account.publicKeyPem });
  return {
    body: {
      apns_credentials: { key: key.keyPem, key_id: key.keyId, team_id: key.teamId, topic: DEMO_APNS_TOPIC, production: true },
      fcm_credentials: { service_account: account.json },
    },
    apnsKeyId: key.keyId,
    fcmClientEmail: account.clientEmail,
  };
}

/** A 32-byte device token as 64 lower-case hex digits, as the API stores it. */
export const demoApnsToken = (i: number): string => createHash('sha256').update(`demo-apns-${i}`).digest('hex');

/** Shaped like a real registration token: `<instance id>:APA91b…`. */
export const demoFcmToken = (i: number): string => {
  const digest = createHash('sha512').update(`demo-fcm-${i}`).digest('base64url');
  return `${digest.slice(0, 22)}:APA91b${digest.slice(22)}`;
};

/** APNs devices with the faults of faultOf(): 410 Unregistered for good, or 429 once. */
export function seedApnsDevices(db: Db, apns: LocalApnsService, projectId: number, count: number, signal: AbortSignal) {
  return seedDevices(db, projectId, 'apns', count, signal, demoApnsToken, (token, fault) =>
    fault === 'gone'
      ? apns.script(token, [{ status: 410 }], { sticky: true })
      : apns.script(token, [{ status: 429, retryAfterSeconds: 1 }]),
  );
}

/** FCM devices with the faults of faultOf(): 404 UNREGISTERED for good, or 429 QUOTA_EXCEEDED once. */
export function seedFcmDevices(db: Db, fcm: LocalFcmService, projectId: number, count: number, signal: AbortSignal) {
  return seedDevices(db, projectId, 'fcm', count, signal, demoFcmToken, (token, fault) =>
    fault === 'gone'
      ? fcm.script(token, [{ status: 404 }], { sticky: true })
      : fcm.script(token, [{ status: 429, retryAfterSeconds: 1 }]),
  );
}

/** Written straight to PostgreSQL, like the browsers: the demo measures the broadcast, not an import. */
function seedDevices(
  db: Db,
  projectId: number,
  platform: 'apns' | 'fcm',
  count: number,
  signal: AbortSignal,
  tokenOf: (i: number) => string,
  script: (token: string, fault: keyof Faults) => void,
): Promise<Faults> {
  return seedWithFaults(
    count,
    signal,
    (i, fault) => {
      const token = tokenOf(i);
      if (fault !== undefined) script(token, fault);
      return { token };
    },
    (rows) => insertDeviceSubscriptionsBulk(db, projectId, platform, rows),
  );
}
