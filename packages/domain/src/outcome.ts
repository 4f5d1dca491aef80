/**
 * What happened to one recipient of one send. Providers return one per recipient, as data; the
 * pipeline decides what is retried and when.
 */
export type SendOutcome =
  | { readonly kind: 'delivered' }
  /**
   * The subscription no longer exists at the push service (404/410, APNs BadDeviceToken, FCM
   * UNREGISTERED): prune it. `reason` is the provider's own word for it, when it gave one.
   */
  | { readonly kind: 'gone'; readonly status: number; readonly reason?: string }
  /** Try again no earlier than `notBefore` (epoch ms; from Retry-After when the service sent one). */
  | { readonly kind: 'retry'; readonly notBefore: number; readonly reason: string }
  /** Final failure with a stable reason code, e.g. `http_400`, `http_413`, `vapid_rejected`, `endpoint_not_allowed`. */
  | {
      readonly kind: 'failed';
      readonly reason: string;
      readonly status?: number;
      /**
       * Web Push 401/403: the push service refused the VAPID credential (its fingerprint, added by
       * the channel). Final for the recipient, as push services answer it per subscription (one
       * made under another key), but counted by the credential breaker with a higher threshold.
       */
      readonly credential?: string;
    }
  /**
   * The provider refused the project's credentials, not this recipient (APNs 403
   * InvalidProviderToken, FCM 401/403 or a service account Google refuses): nothing is final for the
   * recipient; refusals in a row stop the project's sends on the platform (the credential breaker).
   */
  | {
      readonly kind: 'refused';
      readonly reason: string;
      readonly status?: number;
      /** The fingerprint of the credential refused, added by the channel that used it. */
      readonly credential?: string;
    };

/**
 * Refusals in a row (across workers, no delivery in between) after which a project's credential is
 * marked rejected and its chunks on that platform wait for new credentials.
 */
export const CREDENTIAL_REFUSALS_TO_REJECT = 3;

/**
 * The same for Web Push, where 401/403 also mean "this subscription was made under another key":
 * so many refusals in a row, with no delivery in between, only come from a key or subject the push
 * services refuse. Higher than the devices' threshold so that a few stale subscriptions in a row
 * (an imported list, a rotated key) never hold a project.
 */
export const WEB_PUSH_REFUSALS_TO_REJECT = 50;
