import type { LocalApnsService } from '@pushcast/local-apns-service';
import type { LocalFcmService } from '@pushcast/local-fcm-service';
import type { LocalPushService } from '@pushcast/local-push-service';
import type { Db } from '@pushcast/store';
import type { Platform } from './api-client.ts';
import { seedApnsDevices, seedFcmDevices } from './devices.ts';
import { fmt, seconds } from './progress.ts';
import { seedSubscribers, type Faults } from './setup.ts';

export interface LocalServices {
  push: LocalPushService;
  apns: LocalApnsService;
  fcm: LocalFcmService;
}

/** Every platform's recipients with their scripted faults, one line of output each (none for 0). */
export async function seedAll(
  db: Db,
  services: LocalServices,
  projectId: number,
  counts: Record<Platform, number>,
  signal: AbortSignal,
  out: (text: string) => void,
): Promise<Record<Platform, Faults>> {
  const seed = async (what: string, count: number, goneAnswer: string, seeder: () => Promise<Faults>): Promise<Faults> => {
    if (count === 0) return { gone: 0, throttled: 0 };
    out(`seeding ${fmt(count)} ${what}… `);
    const start = performance.now();
    const faults = await seeder();
    out(`${seconds(performance.now() - start)} (${fmt(faults.gone)} will answer ${goneAnswer}, ${fmt(faults.throttled)} 429 once)\n`);
    return faults;
  };
  const { push, apns, fcm } = services;
  return {
    web: await seed('subscribers', counts.web, '410', () => seedSubscribers(db, push, projectId, counts.web, signal)),
    apns: await seed('APNs devices', counts.apns, '410 Unregistered', () => seedApnsDevices(db, apns, projectId, counts.apns, signal)),
    fcm: await seed('FCM devices', counts.fcm, '404 UNREGISTERED', () => seedFcmDevices(db, fcm, projectId, counts.fcm, signal)),
  };
}
