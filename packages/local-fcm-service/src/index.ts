export {
  startLocalFcmService,
  type FcmCounters,
  type FcmErrorCode,
  type LocalFcmService,
  type LocalFcmServiceOptions,
  type OAuthTokenRequest,
  type ReceivedFcmMessage,
  type ScriptedFcmAnswer,
} from './service.ts';
export { FCM_HOST, createFcmAgent, localFcmCredential, redirectFcmTo, redirectOAuthTo } from './redirect.ts';
export {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  FCM_SCOPES,
  JWT_BEARER_GRANT_TYPE,
  OAUTH_ERROR_DESCRIPTIONS,
  OAUTH_HOST,
  OAUTH_TOKEN_URL,
  generateRsaKeyPair,
  generateServiceAccount,
  type GeneratedServiceAccount,
  type RsaKeyPairPem,
  type ServiceAccountToTrust,
} from './oauth.ts';
