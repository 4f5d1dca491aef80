import { PushcastError } from '@pushcast/domain';
import { z } from 'zod';
import { decimalInteger } from '../input/fields.ts';
import { MAX_WAIT_SECONDS, MAX_WAITED_AUDIENCE } from './await-outcomes.ts';

/** `?wait=N` on Pushpad's create: answer once every recipient has an outcome, waiting N seconds at most. */
export const waitQuery = z.object({
  wait: decimalInteger(z.number().int().min(1).max(MAX_WAIT_SECONDS))
    .optional()
    .describe(`Seconds (1-${MAX_WAIT_SECONDS}) to wait for every recipient's outcome; for at most ${MAX_WAITED_AUDIENCE} recipients, sent now`),
});

/** A wait for more recipients than an answer lists, or for a notification that is not sent now. */
export function waitRefused(audience: number | null): PushcastError {
  return audience === null
    ? new PushcastError('validation', 'wait: a scheduled notification (send_at) cannot be waited for', { field: 'wait', rule: 'wait_audience' })
    : new PushcastError('validation', `wait: the audience is ${audience} recipients; a wait is for at most ${MAX_WAITED_AUDIENCE}`, {
        field: 'wait',
        rule: 'wait_audience',
        audience,
        limit: MAX_WAITED_AUDIENCE,
      });
}
