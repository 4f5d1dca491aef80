import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import { isBeamsPath } from '../routes/beams/paths.ts';
import { isCloudSignalPath } from '../routes/cloudsignal/paths.ts';
import { isUndocumented, openApiPath } from './document.ts';

/** ajv-formats is CommonJS: its function is the default export's default under Node's ESM loader. */
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as unknown as FormatsPlugin;

/** An answer held to the OpenAPI document, with what the document does not describe about it (if anything). */
export interface CheckedAnswer {
  readonly method: string;
  /** The route's pattern (`/api/v1/projects/:id`), or the URL when no route matched. */
  readonly route: string;
  readonly status: number;
  /** Empty when the answer, and the request it accepted, are as documented. */
  readonly problems: readonly string[];
}

export type ContractCheck = (answer: CheckedAnswer) => void;

const DOCUMENT_ID = 'pushcast-openapi';
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
const mediaType = (contentType: unknown) => String(contentType ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * Holds every answer to the OpenAPI document the app serves (a test option of buildApp): its status
 * must be declared for the route's operation, its body must validate against the schema declared
 * for that status and content type (JSON Schema 2020-12, the document's dialect), an answer
 * without a body must be declared without one, and a JSON body the route accepted (2xx) must
 * validate against the declared request body. Every answer is reported with its problems, none
 * is changed: the answer goes out as it was.
 */
export function checkAnswersAgainstDocument(app: FastifyInstance, report: ContractCheck): void {
  let validators: Validators | null = null;
  app.addHook('onSend', async (request, reply, payload) => {
    let problems: string[];
    try {
      validators ??= new Validators(app.swagger() as OpenAPIV3_1.Document);
      problems = [...validators.problems(request, reply, payload)];
    } catch (error) {
      problems = [`check failed: ${String(error)}`];
    }
    report({ method: request.method, route: request.routeOptions.url ?? request.url.split('?')[0]!, status: reply.statusCode, problems });
    return payload;
  });
}

class Validators {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenAPIV3_1.Document) {
    addFormats(this.ajv);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID } as object);
  }

  *problems(request: FastifyRequest, reply: FastifyReply, payload: unknown): Generator<string> {
    const url = request.routeOptions.url;
    const body = bodyText(payload);
    if (url === undefined) {
      // No route: the not-found answer, in the dialect's error shape (but for the scopes left out, with their own).
      const path = request.url.split('?')[0]!;
      if (!isUndocumented(path)) yield* this.validate(body, ['components', 'schemas', isBeamsPath(path) ? 'BeamsError' : isCloudSignalPath(path) ? 'CloudSignalError' : 'Error'], 'answer');
      return;
    }
    if (isUndocumented(url)) return;
    const path = openApiPath(url);
    const item = this.document.paths?.[path];
    // Fastify answers HEAD of a GET route by itself: the GET documents it.
    let method = request.method.toLowerCase();
    if (method === 'head' && !item?.head) method = 'get';
    const operation = item?.[method as OpenAPIV3_1.HttpMethods];
    if (!operation) {
      yield `${request.method} ${path} is not in the document`;
      return;
    }
    const status = String(reply.statusCode);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => operation.responses?.[k] !== undefined);
    if (key === undefined) {
      yield `status ${status} is not declared (declared: ${Object.keys(operation.responses ?? {}).join(', ')})`;
      return;
    }
    const response = operation.responses![key] as OpenAPIV3_1.ResponseObject;
    const declared = Object.keys(response.content ?? {});
    const streamed = isStream(payload);
    if (request.method !== 'HEAD' && (streamed || (body !== null && body !== ''))) {
      const type = mediaType(reply.getHeader('content-type'));
      if (!declared.includes(type)) {
        yield `status ${status} answered ${type || 'no content type'}; declared: ${declared.join(', ') || 'no body'}`;
      } else if (type === 'application/json' && !streamed) {
        yield* this.validate(body, ['paths', path, method, 'responses', key, 'content', type, 'schema'], 'answer');
      }
    } else if (request.method !== 'HEAD' && declared.length > 0 && reply.statusCode !== 304) {
      yield `status ${status} answered no body; declared: ${declared.join(', ')}`;
    }
    if (reply.statusCode < 300) yield* this.acceptedBody(request, path, method, operation.requestBody as OpenAPIV3_1.RequestBodyObject | undefined);
  }

  /** What a route accepted must be what its document asks for (parseInput reads no body, or null, as {}). */
  private *acceptedBody(request: FastifyRequest, path: string, method: string, declared: OpenAPIV3_1.RequestBodyObject | undefined): Generator<string> {
    const type = mediaType(request.headers['content-type']);
    const sent = request.body !== undefined && request.body !== null;
    if (!sent) {
      if (declared?.required) yield 'accepted a request without the body the document requires';
      return;
    }
    if (type !== 'application/json') return; // uploads and text/plain reports: their own parsers
    if (!declared?.content?.['application/json']) yield 'accepted a JSON body the document does not declare';
    else yield* this.validate(JSON.stringify(request.body), ['paths', path, method, 'requestBody', 'content', type, 'schema'], 'accepted request body');
  }

  private *validate(text: string | null, at: string[], what: string): Generator<string> {
    let value: unknown;
    try {
      value = JSON.parse(text ?? '');
    } catch {
      yield `${what} is not JSON: ${String(text).slice(0, 200)}`;
      return;
    }
    const ref = `${DOCUMENT_ID}#/${pointer(...at)}`;
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    if (!validate(value)) {
      // The offending value only (never the whole body: answers may hold keys).
      const detail = (validate.errors ?? [])
        .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)} (was ${preview(valueAtPointer(value, e.instancePath))})`)
        .join('; ');
      yield `${what} does not match ${at.join(' › ')}: ${detail}`;
    }
  }
}

const isStream = (payload: unknown): boolean =>
  payload !== null && typeof payload === 'object' && typeof (payload as { pipe?: unknown }).pipe === 'function';

function bodyText(payload: unknown): string | null {
  if (payload === null || payload === undefined) return null;
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return null; // a stream: not inspected
}

function valueAtPointer(value: unknown, instancePath: string): unknown {
  let v = value;
  for (const part of instancePath.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return v;
}

const preview = (v: unknown): string => {
  const text = JSON.stringify(v) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
};
