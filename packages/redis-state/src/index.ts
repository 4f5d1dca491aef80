export { createRedis, type RedisConnection } from './connection.ts';
export { Ledger, type ChunkLedgerState, type LedgerOutcome } from './ledger.ts';
export { DEFAULT_RECORDER_OPTIONS, OutcomeBatcher, OutcomeRecorder, type LedgerEntry, type RecorderOptions } from './outcome-recorder.ts';
export { deleteKeysWithPrefix } from './keys.ts';
export { RedisApnsTokenStore } from './apns-tokens.ts';
export { QuotaCounter, type Reservation } from './quota.ts';
export { ThrottleGate } from './throttle.ts';
export { CredentialBreaker, type BreakerKey, type SliceVerdict } from './credential-breaker.ts';
