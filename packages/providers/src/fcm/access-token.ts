import type { Credential } from 'firebase-admin/app';

/** firebase-admin refreshes 5 minutes before expiry (FirebaseAppInternals); so do we. */
const REFRESH_BEFORE_MS = 5 * 60_000;

/** Why no access token could be had: firebase-admin's code, and the token endpoint's words. */
export interface AccessTokenFailure {
  readonly code: 'app/invalid-credential';
  readonly message: string;
}

/**
 * The OAuth access token of a service account, from firebase-admin's credential
 * (`getAccessToken()`: the JWT bearer grant at Google's token endpoint), kept until 5 minutes before
 * it expires, as firebase-admin's own `app.INTERNAL.getToken()` does. One fetch at a time: the
 * requests of a broadcast wait for the same one. A failure is not kept: the next call asks again.
 */
export class AccessTokens {
  readonly #credential: Credential;
  readonly #now: () => number;
  #token: { value: string; expiresAt: number } | undefined;
  #fetching: Promise<string | AccessTokenFailure> | undefined;

  constructor(credential: Credential, now: () => number = Date.now) {
    this.#credential = credential;
    this.#now = now;
  }

  /** The cached token while it is fresh (no promise, no await on the hot path), else undefined. */
  fresh(): string | undefined {
    const token = this.#token;
    return token !== undefined && token.expiresAt - this.#now() > REFRESH_BEFORE_MS ? token.value : undefined;
  }

  /** A fresh token, fetched if need be, or why none could be had. */
  get(): Promise<string | AccessTokenFailure> {
    const fresh = this.fresh();
    if (fresh !== undefined) return Promise.resolve(fresh);
    this.#fetching ??= this.#fetch().finally(() => (this.#fetching = undefined));
    return this.#fetching;
  }

  /** FCM refused `value` (401): it is not used again; the next request asks the credential. */
  refused(value: string): void {
    if (this.#token?.value === value) this.#token = undefined;
  }

  async #fetch(): Promise<string | AccessTokenFailure> {
    try {
      const result = await this.#credential.getAccessToken();
      if (typeof result?.access_token !== 'string' || typeof result.expires_in !== 'number') {
        return { code: 'app/invalid-credential', message: `Invalid access token generated: ${JSON.stringify(result)}` };
      }
      this.#token = { value: result.access_token, expiresAt: this.#now() + result.expires_in * 1000 };
      return result.access_token;
    } catch (error) {
      // firebase-admin's wording (FirebaseAppInternals.refreshToken), which keeps the endpoint's
      // `invalid_grant` and the like that response.ts reads.
      const message = typeof error === 'string' ? error : error instanceof Error ? error.message : String(error);
      return {
        code: 'app/invalid-credential',
        message: `Credential implementation provided to initializeApp() via the "credential" property failed to fetch a valid Google OAuth2 access token with the following error: "${message}".`,
      };
    }
  }
}
