import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { PushcastError } from '@pushcast/domain';
import { queueNames, type Queues } from '@pushcast/queues';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from './auth.ts';
import { sendError, toPushcastError } from './http-errors.ts';

export const BULL_BOARD_PATH = '/admin/queues';
/** What a browser shows in its login prompt, and what tells it to ask again. */
export const BULL_BOARD_CHALLENGE = 'Basic realm="Pushcast"';

/**
 * The password of `Authorization: Basic base64(user:password)`; the user name is ignored. Null
 * when the header is missing, not Basic, or carries no password.
 */
export function basicAuthPassword(header: string | undefined): string | null {
  const match = header?.match(/^Basic\s+([A-Za-z0-9+/_-]+={0,2})\s*$/i);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const password = decoded.slice(colon + 1);
  return password === '' ? null : password;
}

/**
 * Bull Board (@bull-board/api + @bull-board/fastify) at /admin/queues over every queue of the
 * catalogue, opened with the deployment's queue prefix. Every request to it — page, static files,
 * its JSON API — needs HTTP Basic auth whose password is an admin access token
 * (PUSHCAST_ADMIN_TOKEN or a stored admin token); anything else is 401 with a Basic challenge, a
 * project token included, so that a browser asks again rather than showing a dead end.
 */
export async function registerBullBoard(app: FastifyInstance, deps: { queues: Queues; auth: Authenticator; prefix: string }): Promise<void> {
  await app.register(async (board) => {
    board.addHook('onRequest', async (request, reply) => {
      // Browsers resend Basic credentials by themselves, so a page elsewhere could make an admin's
      // browser post to the board (a text/plain POST needs no preflight). The board's own page
      // posts JSON, which no other origin can send without a preflight that nothing here answers.
      if (request.method === 'POST' && !String(request.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendError(reply, request, new PushcastError('forbidden', 'Bull Board takes POSTs of application/json only', { rule: 'json_only' }));
      }
      const refusal = await refusalOf(request, deps.auth);
      if (refusal === null) return;
      if (refusal.kind === 'unauthorized') void reply.header('www-authenticate', BULL_BOARD_CHALLENGE);
      return sendError(reply, request, refusal);
    });
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(BULL_BOARD_PATH);
    createBullBoard({
      queues: queueNames.map((name) => new BullMQAdapter(deps.queues.queue(name), { description: `Redis keys ${deps.prefix}:${name}:*` })),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Pushcast queues' } },
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
}

/** Why this request may not see the board, or null if it may. */
async function refusalOf(request: FastifyRequest, auth: Authenticator): Promise<PushcastError | null> {
  const token = basicAuthPassword(request.headers.authorization);
  if (token === null) {
    return new PushcastError('unauthorized', 'Bull Board needs HTTP Basic auth: any user name, an admin access token as the password', {
      rule: 'token_required',
    });
  }
  try {
    const principal = await auth.authenticateToken(token);
    if (principal.kind === 'admin') return null;
    return new PushcastError('unauthorized', 'Bull Board needs an admin access token; this one is scoped to projects', { rule: 'admin_required' });
  } catch (error) {
    // An unknown token is 401 (with the challenge); PostgreSQL away is 503.
    return toPushcastError(error);
  }
}
