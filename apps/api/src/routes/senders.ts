import { generateVapidKeyPair, notFound, parseVapidKeyPair, PushcastError, validationError } from '@pushcast/domain';
import { deleteSender, findSenderWithKey, insertSender, listSendersWithKeys, renameSender, type SenderWithKey } from '@pushcast/store';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { idParam, parseInput } from '@pushcast/core';
import { senderAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json, WITH_BODY } from '../openapi/route-schemas.ts';
import { senderJson } from '../serializers.ts';

const params = z.object({ id: idParam });
const name = z.string().trim().min(1).max(255);
const createBody = z.strictObject({
  name,
  vapid_private_key: z.string().max(4096).optional(),
  vapid_public_key: z.string().max(4096).optional(),
});
const updateBody = z.strictObject({ name: name.optional() });

const tags = ['Senders'];
const schemas = {
  create: {
    tags,
    operationId: 'createSender',
    summary: 'Create a sender',
    description:
      'Give both VAPID keys (PEM) or neither: then a P-256 pair is generated. The private key is stored sealed under ' +
      'PUSHCAST_SECRET_KEY (409 `secret_key_not_configured` without it).',
    body: createBody,
    response: { 201: json('The sender', senderAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 409) },
  },
  list: {
    tags,
    operationId: 'listSenders',
    summary: 'List senders',
    response: { 200: json('The senders', z.array(senderAnswer)), ...errors(...AUTHENTICATED) },
  },
  get: {
    tags,
    operationId: 'getSender',
    summary: 'Get a sender',
    params,
    response: { 200: json('The sender', senderAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  update: {
    tags,
    operationId: 'updateSender',
    summary: 'Rename a sender',
    params,
    body: updateBody,
    response: { 200: json('The sender', senderAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 404) },
  },
  delete: {
    tags,
    operationId: 'deleteSender',
    summary: 'Delete a sender',
    description: 'Refused (409 `sender_in_use`) while a project uses it.',
    params,
    response: { 204: empty('Deleted'), ...errors(...AUTHENTICATED, 404, 409, 422) },
  },
};

/**
 * Senders hold VAPID key pairs (the private key included), so they are admin-only. The private key
 * is sealed under PUSHCAST_SECRET_KEY at rest and opened for the answer, as Pushpad's API shows it.
 */
export async function senderRoutes(app: FastifyInstance, { db, config }: ApiDeps): Promise<void> {
  app.addHook('preHandler', async (request) => requireAdmin(request.principal));

  /** The answer; a private key this process cannot open is shown as null (and logged, without any secret). */
  function answer(found: SenderWithKey, log: FastifyBaseLogger) {
    if (!found.privateKey.ok) {
      log.warn({ senderId: found.sender.id, reason: found.privateKey.error }, 'VAPID private key cannot be opened: answered as null');
    }
    return senderJson(found.sender, found.privateKey.ok ? found.privateKey.value : null);
  }

  app.post('/senders', { schema: schemas.create }, async (request, reply) => {
    const body = parseInput(schemas.create.body, request.body, 'body');
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
    // As provider credentials: a private key is stored sealed or not at all.
    const secretKey = config.secretKeys.current;
    if (secretKey === undefined) {
      throw new PushcastError(
        'conflict',
        'vapid_private_key: cannot be stored: set PUSHCAST_SECRET_KEY (32 random bytes, e.g. `openssl rand -base64 32`) ' +
          'on the API and the workers to keep VAPID private keys encrypted at rest',
        { field: 'vapid_private_key', rule: 'secret_key_not_configured' },
      );
    }
    const sender = await insertSender(db, secretKey, { name: body.name, keys });
    return reply.code(201).send(senderJson(sender, keys.privateKeyPem));
  });

  app.get('/senders', { schema: schemas.list }, async (request) => (await listSendersWithKeys(db, config.secretKeys)).map((s) => answer(s, request.log)));

  app.get('/senders/:id', { schema: schemas.get }, async (request) => {
    const { id } = parseInput(schemas.get.params, request.params, 'params');
    const found = await findSenderWithKey(db, config.secretKeys, id);
    if (!found) throw notFound(`sender ${id}`);
    return answer(found, request.log);
  });

  app.patch('/senders/:id', { schema: schemas.update }, async (request) => {
    const { id } = parseInput(schemas.update.params, request.params, 'params');
    const body = parseInput(schemas.update.body, request.body, 'body');
    const found =
      body.name === undefined
        ? await findSenderWithKey(db, config.secretKeys, id)
        : await renameSender(db, config.secretKeys, id, body.name);
    if (!found) throw notFound(`sender ${id}`);
    return answer(found, request.log);
  });

  app.delete('/senders/:id', { schema: schemas.delete }, async (request, reply) => {
    const { id } = parseInput(schemas.delete.params, request.params, 'params');
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
