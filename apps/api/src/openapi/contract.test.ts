import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkAnswersAgainstDocument, type CheckedAnswer } from './contract.ts';
import { registerOpenApi } from './document.ts';
import { documentationOnlySchemas, empty, errors, json } from './route-schemas.ts';

let app: FastifyInstance | undefined;
afterEach(async () => app?.close());

/** A small app whose routes answer as declared, or not, and what the check made of each answer. */
async function appWith(answers: CheckedAnswer[]): Promise<FastifyInstance> {
  app = Fastify();
  app.setNotFoundHandler((_r, reply) => reply.code(404).send({ error: 'no route', code: 'not_found' }));
  await registerOpenApi(app, { publicUrl: undefined });
  checkAnswersAgainstDocument(app, (a) => answers.push(a));
  await app.register(
    async (api) => {
      documentationOnlySchemas(api);
      const thing = z.object({ n: z.number() });
      const summary = 'test';
      api.get('/good', { schema: { summary, response: { 200: json('ok', thing), ...errors(404) } } }, async () => ({ n: 1 }));
      api.get('/wrong-type', { schema: { summary, response: { 200: json('ok', thing) } } }, async () => ({ n: 'one' }));
      api.get('/wrong-status', { schema: { summary, response: { 201: json('ok', thing), ...errors() } } }, async () => ({ n: 1 }));
      api.get('/body-on-204', { schema: { summary, response: { 204: empty('gone') } } }, async (_r, reply) => reply.code(204).send({ n: 1 }));
      api.post(
        '/strict',
        { schema: { summary, body: z.strictObject({ a: z.string() }), response: { 204: empty('done'), ...errors(422) } } },
        async (_r, reply) => reply.code(204).send(),
      );
      const onlyOk: FastifySchema = { summary, response: { 200: json('ok', thing) } };
      api.get('/undocumented-refusal', { schema: onlyOk }, async (_r, reply) =>
        reply.code(409).send({ error: 'no', code: 'conflict' }),
      );
    },
    { prefix: '/api/v1' },
  );
  return app;
}

describe('the contract check', () => {
  it('finds nothing to say about answers as documented, refusals in the error shape included', async () => {
    const answers: CheckedAnswer[] = [];
    const a = await appWith(answers);
    expect((await a.inject('/api/v1/good')).statusCode).toBe(200);
    expect((await a.inject('/api/v1/nowhere')).statusCode).toBe(404);
    expect(answers.map((x) => x.problems)).toEqual([[], []]);
  });

  it('reports a body that breaks its schema, a status not declared, a body where none is declared, an accepted body the document refuses', async () => {
    const answers: CheckedAnswer[] = [];
    const a = await appWith(answers);
    await a.inject('/api/v1/wrong-type');
    await a.inject('/api/v1/wrong-status');
    await a.inject('/api/v1/body-on-204');
    await a.inject({ method: 'POST', url: '/api/v1/strict', payload: { a: 1 } });
    await a.inject('/api/v1/undocumented-refusal');
    const [wrongType, wrongStatus, bodyOn204, strict, refusal] = answers.map((x) => x.problems.join(' | '));
    expect(wrongType).toMatch(/answer does not match .*200.*: \/n must be number .*\(was "one"\)/);
    // 200 is not declared: the answer falls to `default`, the error shape, which it is not.
    expect(wrongStatus).toMatch(/answer does not match .*default.*must have required property 'error'/);
    expect(bodyOn204).toMatch(/status 204 answered application\/json; declared: no body/);
    expect(strict).toMatch(/accepted request body does not match .*requestBody.*\/a must be string/);
    expect(refusal).toMatch(/status 409 is not declared \(declared: 200\)/);
  });
});
