import { generateVapidKeyPair, notFound, parseVapidKeyPair, PushcastError, validationError } from '@pushcast/domain';
import { deleteSender, findSender, insertSender, listSenders, renameSender } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { idParam } from '@pushcast/core';
import { senderJson } from '../serializers.ts';
import { parseInput } from '@pushcast/core';

const params = z.object({ id: idParam });
const name = z.string().trim().min(1).max(255);
const createBody = z.strictObject({
  name,
  vapid_private_key: z.string().max(4096).optional(),
  vapid_public_key: z.string().max(4096).optional(),
});
const updateBody = z.strictObject({ name: name.optional() });

/** Senders hold VAPID key pairs (the private key included), so they are admin-only. */
export async function senderRoutes(app: FastifyInstance, { db }: ApiDeps): Promise<void> {
  app.addHook('preHandler', async (request) => requireAdmin(request.principal));

  app.post('/senders', async (request, reply) => {
    const body = parseInput(createBody, request.body, 'body');
    const given = [body.vapid_private_key, body.vapid_public_key].filter((k) => k !== undefined).length;
    if (given === 1) {
      throw validationError(
        body.vapid_private_key === undefined ? 'vapid_private_key' : 'vapid_public_key',
        'both_or_neither',
        'give both VAPID keys or neither (then a pair is generated)',
      );
    }
    let keys = generateVapidKeyPair();
    if (given === 2) {
      const parsed = parseVapidKeyPair(body.vapid_private_key!, body.vapid_public_key!);
      if (!parsed.ok) throw validationError(parsed.error.field, parsed.error.rule, parsed.error.message);
      keys = parsed.value;
    }
    const sender = await insertSender(db, {
      name: body.name,
      vapidPrivateKey: keys.privateKeyPem,
      vapidPublicKey: keys.publicKeyPem,
    });
    return reply.code(201).send(senderJson(sender));
  });

  app.get('/senders', async () => (await listSenders(db)).map(senderJson));

  app.get('/senders/:id', async (request) => {
    const { id } = parseInput(params, request.params, 'params');
    const sender = await findSender(db, id);
    if (!sender) throw notFound(`sender ${id}`);
    return senderJson(sender);
  });

  app.patch('/senders/:id', async (request) => {
    const { id } = parseInput(params, request.params, 'params');
    const body = parseInput(updateBody, request.body, 'body');
    const sender = body.name === undefined ? await findSender(db, id) : await renameSender(db, id, body.name);
    if (!sender) throw notFound(`sender ${id}`);
    return senderJson(sender);
  });

  app.delete('/senders/:id', async (request, reply) => {
    const { id } = parseInput(params, request.params, 'params');
    const outcome = await deleteSender(db, id);
    if (outcome === 'not_found') throw notFound(`sender ${id}`);
    if (outcome === 'in_use') {
      throw new PushcastError('conflict', `sender ${id} is used by a project; move or delete its projects first`, {
        rule: 'sender_in_use',
      });
    }
    return reply.code(204).send();
  });
}
