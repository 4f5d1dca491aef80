export { ApnsClient, type ApnsClientOptions, type ApnsTarget } from './client.ts';
export { apnsMessage, apnsPayloadBytes, deepMerge, exactApnsMessage, MAX_APNS_PAYLOAD_BYTES, type ApnsMessage, type ApnsSource } from './payload.ts';
export {
  APNS_TOKEN_REUSE_S,
  mintApnsProviderToken,
  type ApnsProviderTokens,
  type ApnsSigningKey,
} from './provider-token.ts';
export { apnsOutcome, type ApnsFailure } from './response.ts';
