import { notFound, type Subscription } from '@pushcast/domain';
import { deleteSubscription as deleteRow, updateSubscription as updateRow } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/** Sets a subscription's uid, tags and/or user_email (each left alone when undefined); 404 when it is not in the project. */
export async function updateSubscription(
  deps: Pick<CoreDeps, 'db'>,
  projectId: number,
  id: number,
  change: { readonly uid?: string | null | undefined; readonly tags?: readonly string[] | undefined; readonly user_email?: string | null | undefined },
): Promise<Subscription> {
  const subscription = await updateRow(deps.db, projectId, id, {
    uid: change.uid,
    tags: change.tags ? [...change.tags] : undefined,
    userEmail: change.user_email,
  });
  if (!subscription) throw notFound(`subscription ${id}`);
  return subscription;
}

/** Deletes a subscription; 404 when it is not in the project. */
export async function deleteSubscription(deps: Pick<CoreDeps, 'db'>, projectId: number, id: number): Promise<void> {
  if (!(await deleteRow(deps.db, projectId, id))) throw notFound(`subscription ${id}`);
}
