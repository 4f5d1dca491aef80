import { isRule, PushcastError, type Rule } from '@pushcast/domain';
import type { z } from 'zod';

/**
 * Parses request input with a zod schema. The first problem becomes the error: a missing required
 * field is a 400 (Pushpad's "missing parameter"), any other broken rule a 422; both name the field
 * and the rule.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = path.length > 0 ? path.join('.') : where;
  const missing = issue.code === 'invalid_type' && issue.path.length > 0 && valueAt(input, issue.path) === undefined;
  const rule = missing ? 'required' : ruleOf(issue);
  const message = missing ? 'is required' : issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
  return throwError(new PushcastError(missing ? 'bad_request' : 'validation', `${field}: ${message}`, { field, rule }));
}

function throwError(e: PushcastError): never {
  throw e;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Rule names are stable API (the catalogue in @pushcast/domain): custom checks set `params.rule`, zod's own codes map here. */
function ruleOf(issue: z.core.$ZodIssue): Rule {
  if (issue.code === 'custom') {
    const rule = (issue.params as { rule?: Rule } | undefined)?.rule;
    return rule ?? 'invalid_value';
  }
  if (issue.code === 'too_big') return issue.origin === 'array' ? 'max_items' : issue.origin === 'string' ? 'max_length' : 'max';
  if (issue.code === 'too_small') return issue.origin === 'array' ? 'min_items' : issue.origin === 'string' ? 'min_length' : 'min';
  if (issue.code === 'unrecognized_keys') return 'unknown_field';
  if (issue.code === 'invalid_format') return isRule(issue.format) ? issue.format : 'invalid_format';
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') return 'invalid_value';
  return issue.code;
}
