export {
  startLocalApnsService,
  type ApnsCounters,
  type LocalApnsService,
  type LocalApnsServiceOptions,
  type ReceivedApnsRequest,
  type ScriptedApnsAnswer,
  type TrustedApnsKey,
} from './service.ts';
export { generateApnsKey, signApnsProviderToken, type ApnsCredentialForTests } from './keys.ts';
