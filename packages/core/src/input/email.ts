import { ruleParam } from '@pushcast/domain';
import { z } from 'zod';

/** RFC 5321's longest address. */
export const MAX_EMAIL_LENGTH = 320;

/**
 * A user's email address as subscriptions carry it (`user_email`) and CloudSignal targets by it:
 * one `@` with something on each side and no spaces; matched case-insensitively. Not a full RFC
 * 5322 parser on purpose: an address the mail system takes must not be refused here.
 */
export const userEmail = z
  .string()
  .max(MAX_EMAIL_LENGTH)
  .refine((v) => /^[^\s@]+@[^\s@]+$/.test(v), { message: 'must be an email address (local@domain)', params: ruleParam('email') });
