export {
  startLocalPushService,
  type Counters,
  type LocalPushService,
  type LocalPushServiceOptions,
  type ReceivedMessage,
  type ScriptedAnswer,
} from './service.ts';
export { DEFAULT_SEED, deriveSubscription, type DerivedSubscription } from './keys.ts';
export type { VapidResult } from './vapid.ts';
