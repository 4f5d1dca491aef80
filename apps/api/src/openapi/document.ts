import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import scalarReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { DECIMAL_STRING_TOO } from '@pushcast/core';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 document, generated from the zod schemas each route declares (route-schemas.ts),
 * served at GET /api/v1/openapi.json, and the reference page made from it at GET /docs (Scalar's,
 * its script served from the package: no CDN, no web font, no telemetry, so it works offline).
 */
export const OPENAPI_PATH = '/api/v1/openapi.json';
export const DOCS_PATH = '/docs';

/** Routes left out of the document on purpose, each with its reason; every other route is in it (test/openapi.test.ts). */
export const UNDOCUMENTED: readonly { readonly route: RegExp; readonly reason: string }[] = [
  { route: /^\/(healthz|readyz|metrics)$/, reason: 'probes and Prometheus, for operators (README, Operations), not API clients' },
  { route: /^\/admin\/queues(\/|$)/, reason: "Bull Board: a page and the board's own JSON API, behind HTTP Basic auth" },
  { route: /^\/api\/v1\/openapi\.json$/, reason: 'the document itself' },
  { route: /^\/docs(\/|$)/, reason: 'the reference page made from the document, and its script' },
  { route: /^\/console(\/|$)/, reason: 'the console: a web page and its assets, itself a client of this document\'s API' },
];

export const isUndocumented = (url: string): boolean => UNDOCUMENTED.some(({ route }) => route.test(url));

/**
 * A wildcard at the end of a route (Beams' interest names and user ids: longer than the router
 * takes in a `:param`) is a path parameter named after the collection it is in.
 */
const WILDCARD_NAMES: Record<string, string> = { interests: 'interest', users: 'userId' };
const wildcardName = (url: string): string => WILDCARD_NAMES[/\/([^/]+)\/\*$/.exec(url)?.[1] ?? ''] ?? 'path';

/** A route's path in the document: `/projects/:id` → `/projects/{id}`, a trailing `*` → `{interest}`, `{userId}` or `{path}`. */
export function openApiPath(url: string): string {
  const named = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return named.endsWith('/*') ? `${named.slice(0, -1)}{${wildcardName(url)}}` : named;
}

/** The route's params schema with its wildcard (`*`) under the name the document gives it. */
function withNamedWildcard(url: string, params: unknown): unknown {
  if (!url.endsWith('/*') || !(params instanceof z.ZodObject) || !('*' in params.shape)) return params;
  const { '*': wildcard, ...rest } = params.shape as Record<string, z.ZodType>;
  return z.object({ ...rest, [wildcardName(url)]: wildcard! });
}

const TAGS: OpenAPIV3_1.TagObject[] = [
  { name: 'Senders', description: 'VAPID key pairs (admin only: they hold private keys)' },
  { name: 'Projects', description: 'A website or app, its defaults, credentials, quotas and browser settings' },
  { name: 'Subscriptions', description: 'Browsers (Web Push) and devices (APNs, FCM) of a project' },
  { name: 'Notifications', description: 'Create, inspect and cancel notifications; statistics' },
  { name: 'Statistics', description: 'Subscriber counts (per platform, over time), recent notifications, audience sizes: for dashboards' },
  { name: 'Webhooks', description: 'Signed requests to your endpoints when things happen (Standard Webhooks)' },
  { name: 'Access tokens', description: "Pushcast's own tokens: admin, or scoped to projects (admin only)" },
  { name: 'Browser', description: 'What a page and its service worker call, without a token, from the allowed origins' },
  { name: 'SDK', description: 'The browser SDK and service worker files' },
  {
    name: 'Beams',
    description:
      "Pusher Beams' Publish, Device, user and Reporting APIs at the root of the server, as Beams serves them (docs/beams.md): " +
      'refusals are `BeamsError` with Beams\' statuses and titles.',
  },
  {
    name: 'CloudSignal',
    description:
      "CloudSignal's push API at /v2/push, as CloudSignal documents it (docs/cloudsignal.md), with `X-Secret-Key`: " +
      'refusals are `CloudSignalError` (`{detail, code}`) with CloudSignal\'s statuses.',
  },
];

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface OpenApiOptions {
  /** PUSHCAST_PUBLIC_URL: where clients reach the API; the document names it as its server. */
  readonly publicUrl: string | undefined;
}

/** Registers the document's collector (before any route, so that it sees them all) and its two routes. */
export async function registerOpenApi(app: FastifyInstance, { publicUrl }: OpenApiOptions): Promise<void> {
  const zodTransform = createJsonSchemaTransform({ skipList: [] });
  const zodTransformObject = createJsonSchemaTransformObject({});
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pushcast API',
        version,
        description:
          "Pushcast's HTTP API: Pushpad's REST API at `/api/v1` (its official clients work unchanged), " +
          'extended with APNs and FCM devices, per-platform overrides, quotas, idempotency and a browser side. ' +
          'Bodies and answers are JSON; every refusal has the same shape (`Error`), naming the field and the rule.',
      },
      ...(publicUrl ? { servers: [{ url: publicUrl }] } : {}),
      tags: TAGS,
      components: {
        securitySchemes: {
          accessToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'An access token: `Authorization: Bearer <token>` (or Pushpad\'s `Authorization: Token token="<token>"`)',
          },
          beamsSecretKey: {
            type: 'http',
            scheme: 'bearer',
            description: "Beams: a secret key of the project (`POST /api/v1/projects/{id}/secret_keys`), the server SDKs' `secretKey`",
          },
          cloudSignalSecretKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Secret-Key',
            description: 'CloudSignal: a secret key of the project (`POST /api/v1/projects/{id}/secret_keys`), `sk_…`',
          },
          beamsUserToken: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: "Beams: a user token, the server SDKs' `generateToken(userId)` (HS256 by a secret key of the instance)",
          },
        },
      },
      security: [{ accessToken: [] }],
    },
    transform: (input) => {
      if (isUndocumented(input.url)) return { schema: { hide: true } as never, url: input.url };
      const params = (input.schema as { params?: unknown } | undefined)?.params;
      const named = params === undefined ? input : { ...input, schema: { ...input.schema, params: withNamedWildcard(input.url, params) } as never };
      const transformed = { ...zodTransform(named), url: openApiPath(input.url) };
      // parseInput reads no body (or null) as {}: a body that {} satisfies may be left out.
      const body = (input.schema as { body?: unknown } | undefined)?.body;
      if (body instanceof z.ZodType && body.safeParse({}).success) (transformed.schema as Record<string, unknown>)[OPTIONAL_BODY] = true;
      return transformed;
    },
    transformObject: (input) =>
      withDecimalStrings(withOptionalBodies(withoutUnusedSchemas(zodTransformObject(input) as OpenAPIV3_1.Document))),
  });

  app.get(OPENAPI_PATH, async (_request, reply) => reply.header('cache-control', 'no-cache').send(app.swagger()));

  // Scalar's page and its script, served from the package (its routes: /docs, /docs/js/scalar.js).
  await app.register(async (docs) => {
    docs.addHook('onSend', async (request, _reply, payload) =>
      request.routeOptions.url === SCRIPT_PATH && typeof payload === 'string' ? withoutWebFonts(payload) : payload,
    );
    await docs.register(scalarReference, {
      routePrefix: DOCS_PATH,
      logLevel: 'warn',
      configuration: {
        url: OPENAPI_PATH,
        pageTitle: 'Pushcast API reference',
        // Offline: the page loads nothing but its own script and the document from this server.
        withDefaultFonts: false,
        telemetry: false,
        agent: { disabled: true }, // "Ask AI" calls Scalar's servers
        showDeveloperTools: 'never',
        hideClientButton: true,
      },
    });
  });
}

const SCRIPT_PATH = `${DOCS_PATH}/js/scalar.js`;

/**
 * Scalar's script carries @font-face rules for its web fonts on another origin (used unless
 * withDefaultFonts is false): they are taken out, so that what this server serves names no font
 * elsewhere at all; the page uses the system's fonts.
 */
const withoutWebFonts = memoizeLast((script: string) => script.replace(/@font-face\s*\{[^}]*url\(\s*["']?https?:[^}]*\}/g, ''));

function memoizeLast<T>(f: (input: T) => T): (input: T) => T {
  let last: { input: T; output: T } | null = null;
  return (input) => {
    if (last?.input !== input) last = { input, output: f(input) };
    return last.output;
  };
}

/** Marks (on the way through @fastify/swagger, which copies `x-` keys to the operation) a body that may be left out. */
const OPTIONAL_BODY = 'x-pushcast-optional-body';

/** @fastify/swagger says every body is required; those marked are not. */
function withOptionalBodies(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {}) as (OpenAPIV3_1.OperationObject & Record<string, unknown>)[]) {
      if (typeof operation !== 'object' || operation === null || !(OPTIONAL_BODY in operation)) continue;
      delete operation[OPTIONAL_BODY];
      if (operation.requestBody) (operation.requestBody as OpenAPIV3_1.RequestBodyObject).required = false;
    }
  }
  return document;
}

/**
 * An id in a body may also come as a string of decimal digits ("2"): there the document says so
 * (`anyOf`); in a path or a query string every value is text, and `integer` says it all.
 */
function withDecimalStrings(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const digits = { type: 'string', pattern: '^(0|[1-9][0-9]*)$' };
  const rewrite = (value: unknown, inParameter: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => rewrite(v, inParameter));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value).map(([k, v]) => [k, rewrite(v, inParameter || k === 'parameters')] as const);
    const object = Object.fromEntries(entries.filter(([k]) => k !== DECIMAL_STRING_TOO));
    if (!(DECIMAL_STRING_TOO in value) || inParameter) return object;
    const { description, ...integer } = object;
    return { ...(description === undefined ? {} : { description }), anyOf: [integer, digits] };
  };
  return rewrite(document, false) as OpenAPIV3_1.Document;
}

/**
 * Every schema with an id becomes a component twice (as a request's input and as an answer's
 * output); the document keeps those some operation refers to, directly or through another.
 */
function withoutUnusedSchemas(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = document.components?.schemas ?? {};
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    const text = JSON.stringify(value);
    for (const [, name] of text.matchAll(/"#\/components\/schemas\/([^"#/]+)"/g)) {
      if (used.has(name!)) continue;
      used.add(name!);
      visit(schemas[name!]);
    }
  };
  visit(document.paths);
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...document, components: { ...document.components, schemas: kept } };
}
