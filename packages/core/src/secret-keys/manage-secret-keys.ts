import { newProjectSecretKey, notFound, PushcastError, type ProjectSecretKey } from '@pushcast/domain';
import { deleteProjectSecretKey, insertProjectSecretKey } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

type Deps = Pick<CoreDeps, 'db' | 'config'>;

/** A secret key with the key itself: answered once, when created, and never again. */
export interface SecretKeyWithSecret {
  readonly key: ProjectSecretKey;
  readonly secretKey: string;
}

/** Keys are sealed under PUSHCAST_SECRET_KEY (user JWTs are verified with the key itself); without it, 409. */
function sealingKey(deps: Deps): Buffer {
  const key = deps.config.secretKeys.current;
  if (key === undefined) {
    throw new PushcastError(
      'conflict',
      'secret_keys: cannot store a secret key: set PUSHCAST_SECRET_KEY (32 random bytes, e.g. `openssl rand -base64 32`) ' +
        'on the API and the workers to keep secret keys encrypted at rest',
      { rule: 'secret_key_not_configured' },
    );
  }
  return key;
}

export async function createSecretKey(deps: Deps, projectId: number): Promise<SecretKeyWithSecret> {
  const sealing = sealingKey(deps);
  const fresh = newProjectSecretKey();
  const key = await insertProjectSecretKey(deps.db, sealing, { projectId, ...fresh });
  return { key, secretKey: fresh.secretKey };
}

export async function deleteSecretKey(deps: Pick<CoreDeps, 'db'>, projectId: number, id: number): Promise<void> {
  if (!(await deleteProjectSecretKey(deps.db, projectId, id))) throw notFound(`secret key ${id}`);
}
