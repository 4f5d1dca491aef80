import { createHmac, timingSafeEqual } from 'node:crypto';
import { err, ok, type Result } from './result.ts';

/**
 * Beams user tokens: HS256 JWTs that a customer's server makes with a secret key of the instance
 * (Beams' server SDKs' `generateToken(userId)`: `sub` = the user id, `iss` =
 * `https://{instanceId}.pushnotifications.pusher.com`, `exp` a day ahead). A device presents one to
 * be bound to that user. Verified here with the instance's secret keys (several may be live).
 */

export const beamsIssuer = (instanceId: string): string => `https://${instanceId}.pushnotifications.pusher.com`;

/** Beams' user ids: 1 to 164 characters. */
export const MAX_BEAMS_USER_ID_LENGTH = 164;

/**
 * Why a token is refused, in Beams' order of checks:
 * - `malformed`: not three base64url parts of JSON, or not HS256;
 * - `bad_signature`: signed by none of the keys;
 * - `missing_exp` / `missing_sub` / `missing_iss`, `bad_sub` (not 1-164 characters): claims;
 * - `expired`: `exp` is past;
 * - `wrong_issuer`: `iss` names another instance.
 */
export type BeamsTokenError = 'malformed' | 'bad_signature' | 'missing_exp' | 'missing_sub' | 'bad_sub' | 'missing_iss' | 'expired' | 'wrong_issuer';

function jsonPart(part: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The user id a token proves for this instance, at `nowSeconds`. */
export function verifyBeamsUserToken(
  token: string,
  secretKeys: readonly string[],
  instanceId: string,
  nowSeconds: number,
): Result<{ readonly userId: string }, BeamsTokenError> {
  const parts = token.split('.');
  if (parts.length !== 3) return err('malformed');
  const [head, body, signature] = parts as [string, string, string];
  const header = jsonPart(head);
  const claims = jsonPart(body);
  if (header === null || claims === null || header.alg !== 'HS256' || !/^[A-Za-z0-9_-]*$/.test(signature)) return err('malformed');
  const given = Buffer.from(signature, 'base64url');
  const signed = `${head}.${body}`;
  const valid = secretKeys.some((key) => {
    const expected = createHmac('sha256', key).update(signed).digest();
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!valid) return err('bad_signature');
  if (typeof claims.exp !== 'number') return err('missing_exp');
  if (claims.sub === undefined) return err('missing_sub');
  if (typeof claims.sub !== 'string' || claims.sub.length < 1 || claims.sub.length > MAX_BEAMS_USER_ID_LENGTH) return err('bad_sub');
  if (claims.iss === undefined) return err('missing_iss');
  if (claims.exp <= nowSeconds) return err('expired');
  if (claims.iss !== beamsIssuer(instanceId)) return err('wrong_issuer');
  return ok({ userId: claims.sub });
}
