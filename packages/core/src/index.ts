// The use cases every API dialect calls (Pushpad's at /api/v1 today; Beams' and CloudSignal's next).
// A route parses HTTP, calls one of these, and shapes the answer in its dialect; nothing here knows HTTP.
export type { CoreDeps } from './deps.ts';
export { parseInput } from './input/parse.ts';
export * from './input/fields.ts';
export { assertSafeInput, findUnsafe, MAX_INPUT_DEPTH, parseJsonBody, type UnsafeInput } from './input/safe-value.ts';
export {
  checkPayloadSize,
  flatNotificationBody,
  wrappedNotificationBody,
  MAX_ACTIONS,
  MAX_SCHEDULE_AHEAD_MS,
  MAX_TTL,
  MAX_UIDS,
  notificationDraft,
  parseNotificationBody,
  parseSendAt,
  parseTargetTags,
  resolveContent,
  type NotificationDraft,
  type NotificationInput,
} from './notifications/content-input.ts';
export { canonicalJson, IDEMPOTENCY_FIELD, requestFingerprint, type KeyedRequest, type StoredAnswer } from './notifications/idempotency.ts';
export {
  createNotification,
  EXACT_AUDIENCE_UP_TO,
  type CreatedNotification,
  type CreateNotificationRequest,
  type CreateNotificationResult,
} from './notifications/create-notification.ts';
export { cancelNotification } from './notifications/cancel-notification.ts';
export { countAudience } from './notifications/count-audience.ts';
export { liveStats, type LiveStats, type PlatformStats } from './notifications/live-stats.ts';
export { holdQuotaAtCreate } from './quota/quota-at-create.ts';
export { quotaStatus, type QuotaStatus } from './quota/quota-status.ts';
export { subscriptionBodies, subscriptionParser, subscriptionUpdate, type SubscriptionInput } from './subscriptions/subscription-input.ts';
export { apnsOverride, fcmOverride, webOverride } from './notifications/overrides-input.ts';
export { registerSubscription } from './subscriptions/register-subscription.ts';
export { deleteSubscription, updateSubscription } from './subscriptions/change-subscription.ts';
export {
  browserChanges,
  browserSubscriptionStatus,
  subscribeBrowser,
  unsubscribeBrowser,
  updateBrowserSubscription,
  userAgentOf,
  type BrowserChanges,
  type BrowserProof,
} from './subscriptions/browser-subscriptions.ts';
export { webhookBodies, webhookEvents, webhookUrl, type WebhookCreateInput, type WebhookUpdateInput } from './webhooks/webhook-input.ts';
export {
  createWebhook,
  deleteWebhook,
  getWebhook,
  rotateWebhookSecret,
  testWebhook,
  updateWebhook,
  type WebhookWithSecret,
} from './webhooks/manage-webhooks.ts';
export { receiveImport, MAX_REPORTED_ERRORS, BATCH_BYTES as IMPORT_BATCH_BYTES, type ImportUpload } from './subscriptions/bulk/import-subscriptions.ts';
/** The import's reading and validation of one batch, for the bulk benchmark's in-process floor. */
export { validateWork } from './subscriptions/bulk/validate-records.ts';
export { ndjsonPieces } from './subscriptions/bulk/records.ts';
export { exportSubscriptions, type ExportFormat } from './subscriptions/bulk/export-subscriptions.ts';
export { CSV_COLUMNS } from './subscriptions/bulk/columns.ts';
export { createSecretKey, deleteSecretKey, type SecretKeyWithSecret } from './secret-keys/manage-secret-keys.ts';
export { beamsInstance, beamsInstanceWithKey, requireInstanceSecretKey } from './beams/instance.ts';
export { newPublishId, publishToBeams, type BeamsAudience } from './beams/publish.ts';
export { beamsInterest, beamsUserId, BEAMS_INTEREST_PATTERN, MAX_BEAMS_NAME_LENGTH, publishToInterestsBody, publishToUsersBody } from './beams/publish-input.ts';
export {
  addBeamsInterest,
  beamsDeviceMetadata,
  beamsInterestSetBody,
  beamsRegistrationBodies,
  beamsTokenRefreshBody,
  bindBeamsUser,
  deleteBeamsDevice,
  deleteBeamsUser,
  getBeamsDevice,
  listBeamsInterests,
  refreshBeamsToken,
  registerBeamsDevice,
  removeBeamsInterest,
  setBeamsInterests,
  setBeamsMetadata,
  MAX_DEVICES_PER_USER_AND_PLATFORM,
  MAX_INTERESTS_PER_DEVICE,
  type InterestsPage,
  type RegisteredDevice,
} from './beams/devices.ts';
export { beamsReportBody, reportBeamsEvent, type BeamsReportOutcome } from './beams/reporting.ts';
export { deliveriesQuery, failuresQuery, notificationRecords, type RecordPage } from './notifications/delivery-records.ts';
export { awaitOutcomes, MAX_WAIT_SECONDS, MAX_WAITED_AUDIENCE, type AwaitedOutcomes } from './notifications/await-outcomes.ts';
export { userEmail, MAX_EMAIL_LENGTH } from './input/email.ts';
export { projectOfSecretKey } from './cloudsignal/auth.ts';
export { cloudSignalSendBody, cloudSignalContent, targetOf, topicOfTag, URGENCIES, type CloudSignalSendInput, type CloudSignalTarget } from './cloudsignal/send-input.ts';
export { cloudSignalRequest, newRequestId, sendCloudSignal, type CloudSignalSendResult, type SendDeps } from './cloudsignal/send.ts';
export {
  clientsQuery,
  CLIENT_STATUSES,
  INACTIVE_AFTER_DAYS,
  deregisterClient,
  getClient,
  listClients,
  registrationIdParams,
  type Client,
  type ClientPage,
  type ClientStatus,
  type ClientsQuery,
} from './cloudsignal/clients.ts';
export { serviceInfo, type ServiceInfo } from './cloudsignal/service.ts';
export { waitQuery, waitRefused } from './notifications/wait-input.ts';
export { deviceInfoOf, type DeviceInfo } from './cloudsignal/device-info.ts';
