export {
  MAX_WEB_PUSH_PLAINTEXT,
  fitsWebPushRecord,
  webPushHeaders,
  webPushPayload,
  type WebPushAction,
  type WebPushHeaders,
  type WebPushNotification,
} from './payload.ts';
export { VapidCache, VapidKeyError, VAPID_REFRESH_MARGIN_S, VAPID_TOKEN_LIFETIME_S, type VapidCacheOptions, type VapidSender } from './vapid-cache.ts';
export { WebPushClient, type WebPushClientOptions, type WebPushOutcomeSink, type WebPushSender, type WebPushTarget } from './client.ts';
