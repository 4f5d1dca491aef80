import { hashSecretKey, PushcastError, type Project } from '@pushcast/domain';
import { findProject, findProjectSecretKeyByHash } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/**
 * CloudSignal's `X-Secret-Key`: a project secret key (`sk_…`, the same keys as Beams'), which
 * reaches its own project only. Unknown, revoked, or of a deleted project: unauthorized.
 */
export async function projectOfSecretKey(deps: Pick<CoreDeps, 'db'>, secretKey: string | undefined): Promise<Project> {
  if (secretKey === undefined || secretKey === '') throw new PushcastError('unauthorized', 'missing X-Secret-Key header', { rule: 'token_required' });
  const key = await findProjectSecretKeyByHash(deps.db, hashSecretKey(secretKey));
  const project = key ? await findProject(deps.db, key.projectId) : null;
  if (!project) throw new PushcastError('unauthorized', 'invalid secret key', { rule: 'token_invalid' });
  return project;
}
