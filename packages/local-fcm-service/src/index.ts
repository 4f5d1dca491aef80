export {
  startLocalFcmService,
  type FcmCounters,
  type FcmErrorCode,
  type LocalFcmService,
  type LocalFcmServiceOptions,
  type ReceivedFcmMessage,
  type ScriptedFcmAnswer,
} from './service.ts';
export { FCM_HOST, createFcmAgent, localFcmCredential, redirectFcmTo } from './redirect.ts';
