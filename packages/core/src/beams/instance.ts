import { hashSecretKey, notFound, PushcastError, type Project } from '@pushcast/domain';
import { findProjectByBeamsInstance, findProjectByBeamsInstanceWithKey, findProjectSecretKeyByHash } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/** The project that is this Beams instance (live), or not_found. */
export async function beamsInstance(deps: Pick<CoreDeps, 'db'>, instanceId: string): Promise<Project> {
  const project = await findProjectByBeamsInstance(deps.db, instanceId);
  if (!project) throw notFound(`instance ${instanceId}`);
  return project;
}

/** A secret key of this instance's project (Beams' `Authorization: Bearer <secretKey>`), or unauthorized. */
export async function requireInstanceSecretKey(deps: Pick<CoreDeps, 'db'>, project: Project, secretKey: string): Promise<void> {
  const key = await findProjectSecretKeyByHash(deps.db, hashSecretKey(secretKey));
  if (key === null || key.projectId !== project.id) {
    throw new PushcastError('unauthorized', 'incorrect secret key for this instance', { rule: 'token_invalid' });
  }
}

/**
 * The project that is this Beams instance (live), or not_found, and whether `secretKey` (null: none
 * given) is one of its secret keys: beamsInstance and requireInstanceSecretKey in one round trip.
 */
export async function beamsInstanceWithKey(
  deps: Pick<CoreDeps, 'db'>,
  instanceId: string,
  secretKey: string | null,
): Promise<{ project: Project; keyMatches: boolean }> {
  const found = await findProjectByBeamsInstanceWithKey(deps.db, instanceId, secretKey === null ? null : hashSecretKey(secretKey));
  if (!found) throw notFound(`instance ${instanceId}`);
  return found;
}
