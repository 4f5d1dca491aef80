import { beamsInstance, beamsInstanceWithKey, requireInstanceSecretKey } from '@pushcast/core';
import { PushcastError, type Project } from '@pushcast/domain';
import type { FastifyRequest } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { BeamsError, incompleteRequest, instanceNotFound } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The instance a Beams path names, as Beams answers for one it does not know. Beams' instance ids
 * are UUIDs: the Device and Reporting APIs refuse another id with a 400 of their own wording
 * (`malformed`); the Publish API and deleteUser answer it as an instance not found.
 */
export async function instanceOf(deps: ApiDeps, instanceId: string, malformed?: () => BeamsError): Promise<Project> {
  if (malformed && !UUID.test(instanceId)) throw malformed();
  try {
    return await beamsInstance(deps, instanceId);
  } catch (error) {
    if (error instanceof PushcastError && error.kind === 'not_found') throw instanceNotFound();
    throw error;
  }
}

/** `Authorization: Bearer <secret key>` of the instance's project (Beams' server SDKs). */
export async function requireSecretKey(deps: ApiDeps, project: Project, request: FastifyRequest): Promise<void> {
  const header = request.headers.authorization;
  if (!header) throw incompleteRequest('Authorization header is missing');
  const bearer = header.match(/^Bearer\s+(\S+)\s*$/i);
  if (!bearer) throw new PushcastError('unauthorized', 'Incorrect API Key');
  await requireInstanceSecretKey(deps, project, bearer[1]!).catch((error: unknown) => {
    if (error instanceof PushcastError && error.kind === 'unauthorized') throw new PushcastError('unauthorized', 'Incorrect API Key');
    throw error;
  });
}

/**
 * instanceOf then requireSecretKey, answered the same (the instance first, then the header, then
 * the key), with the instance and the key looked up in one statement: the Publish API's path.
 */
export async function instanceWithSecretKey(deps: ApiDeps, instanceId: string, request: FastifyRequest): Promise<Project> {
  const header = request.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i) ?? null;
  let found: { project: Project; keyMatches: boolean };
  try {
    found = await beamsInstanceWithKey(deps, instanceId, bearer ? bearer[1]! : null);
  } catch (error) {
    if (error instanceof PushcastError && error.kind === 'not_found') throw instanceNotFound();
    throw error;
  }
  if (!header) throw incompleteRequest('Authorization header is missing');
  if (!bearer || !found.keyMatches) throw new PushcastError('unauthorized', 'Incorrect API Key');
  return found.project;
}
