export * from './webpush/index.ts';
export * from './apns/index.ts';
export * from './fcm/index.ts';
export { ClientCache, type Closable } from './client-cache.ts';
export { apnsMessageOf, fcmMessageOf, webPushNotificationOf, type MappableNotification } from './mapping.ts';
export type { ProviderObserver } from './observer.ts';
