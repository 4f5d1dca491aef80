import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errorAnswer } from '../answers.ts';

/**
 * Each route declares its request and response schemas once, in zod, in its `schema`: the OpenAPI
 * document is generated from them (document.ts), and the handler validates its input with the same
 * schemas through `parseInput`, which answers Pushcast's own 400/422 naming field and rule. So in
 * the scopes holding these routes Fastify neither validates with the schemas (every request passes
 * through unchanged, to parseInput) nor serializes with them (answers are JSON.stringify-ed, exactly
 * as without a schema); the contract check (contract.ts) holds the answers to the document.
 */
export function documentationOnlySchemas(scope: FastifyInstance): void {
  scope.setValidatorCompiler(() => (data: unknown) => ({ value: data }));
  scope.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));
}

/** Refusals a route may answer, with Pushcast's error body. */
const ERROR_DESCRIPTIONS = {
  400: 'Malformed: the body is not JSON, a required field is missing, a tag expression does not parse',
  401: 'No access token, or an unknown one (`rule`: `token_required`, `token_invalid`)',
  403: 'The token may not do this (`admin_required`, `project_scope`), or for the browser endpoints the Origin is not allowed',
  404: 'Nothing with this id',
  409: 'The request contradicts the current state (see `rule`)',
  415: 'A Content-Type the route does not take',
  422: 'A field breaks a rule: `field` names it, `rule` names the rule',
  429: 'Too many requests in the minute, or a quota refuses (`Retry-After` and `retry_after` say when to come back)',
} as const;

export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorAnswer } } });

/**
 * What any request may meet besides: a timeout (408), a body, URL or headers too large (413, 414,
 * 431), an internal error (500), PostgreSQL or Redis away (503, with Retry-After).
 */
const OTHER_ERRORS = {
  default: errorResponse(
    'Any other refusal, in the same shape: 408, 413, 414, 431, 500, or 503 while PostgreSQL or Redis is away (retry after `Retry-After`)',
  ),
};

/** The error responses of a route: 400 always, the statuses named, and the rest as `default`. */
export function errors(...statuses: ErrorStatus[]) {
  const all = [...new Set<ErrorStatus>([400, ...statuses])].sort();
  return { ...Object.fromEntries(all.map((s) => [s, errorResponse(ERROR_DESCRIPTIONS[s])])), ...OTHER_ERRORS };
}

/** Statuses every route behind an access token may answer. */
export const AUTHENTICATED = [401, 403, 429] as const satisfies readonly ErrorStatus[];
/** Statuses every route taking a JSON body may answer. */
export const WITH_BODY = [415, 422] as const satisfies readonly ErrorStatus[];

/** A JSON answer with a description. */
export const json = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

/** An answer with headers (JSON Schemas by header name), with or without a body (`z.undefined()`). */
export const withHeaders = (description: string, schema: z.ZodType, headers: Record<string, object>) => schema.meta({ description, headers });

/** An answer without a body. */
export const empty = (description: string) => z.undefined().describe(description);

/** Routes that take no access token override the document's default security. */
export const PUBLIC = [] as const;
