export { FcmClient, FCM_MAX_BATCH, type FcmClientOptions, type FcmTarget } from './client.ts';
export { EXACT_ANDROID_NOTIFICATION_KEYS, exactFcmMessage, fcmMessage, fcmPayloadBytes, MAX_FCM_PAYLOAD_BYTES, type FcmMessageTemplate, type FcmSource } from './payload.ts';
export { fcmOutcome, reasonFor, type FcmFailure } from './response.ts';
export { createFcmAgent, FCM_HOST, localFcmTransport, OAUTH_HOST, redirectFcmTo, redirectOAuthTo } from './local-endpoint.ts';
