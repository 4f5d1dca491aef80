import { timingSafeEqual } from 'node:crypto';
import {
  browserMaySetTag,
  decodeBase64Any,
  mergeBrowserTags,
  notFound,
  PushcastError,
  validationError,
  verifyUidSignature,
  type Project,
  type Subscription,
} from '@pushcast/domain';
import {
  deleteSubscription,
  findWebSubscriptionByEndpoint,
  inTransaction,
  insertBrowserSubscription,
  listUidSigningStates,
  reviveBrowserSubscription,
  updateSubscription,
  type Queryable,
} from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';
import { MAX_TAGS } from '../input/fields.ts';

/**
 * Subscriptions a browser manages itself, without an access token (the browser SDK). A browser
 * names its subscription by the endpoint and proves it holds it with the auth secret (`keys.auth`,
 * which only the browser and Pushcast know): nobody else can change or remove it. A uid needs a
 * signature (signature_for(uid) under a token of the project); tags are limited to the project's
 * `browser_tags_allowed`, and the site's server's tags are kept beside them.
 */

export interface BrowserChanges {
  /** undefined = keep, null = clear. */
  readonly uid: string | null | undefined;
  /** undefined = keep; else the browser-settable tags, replacing the ones the browser may set. */
  readonly tags: readonly string[] | undefined;
  /** undefined = keep, null = clear; signed like a uid (CloudSignal targets by it). */
  readonly userEmail?: string | null | undefined;
}

/** The browser's User-Agent header, as stored (at most 1,024 characters); null without one. */
export const userAgentOf = (header: string | undefined): string | null => (header ? header.slice(0, 1024) : null);

/** The endpoint and the auth secret that prove a browser holds a subscription. */
export interface BrowserProof {
  readonly endpoint: string;
  readonly auth: string;
}

type Deps = Pick<CoreDeps, 'db'>;

/** The uid and tags a browser asks for, checked: the uid's signature, and tags browsers may set. */
export async function browserChanges(
  deps: Deps,
  project: Project,
  body: {
    uid?: string | null | undefined;
    uid_signature?: string | null | undefined;
    tags?: readonly string[] | undefined;
    user_email?: string | null | undefined;
    user_email_signature?: string | null | undefined;
  },
): Promise<BrowserChanges> {
  const changed = {
    uid: await checkSigned(deps, project.id, body.uid, body.uid_signature, 'uid'),
    tags: body.tags,
    userEmail: await checkSigned(deps, project.id, body.user_email, body.user_email_signature, 'user_email'),
  };
  checkTags(project, changed.tags);
  return changed;
}

/** Subscribes, or updates the same endpoint when the browser proves it holds it. */
export async function subscribeBrowser(
  deps: Deps,
  project: Project,
  input: { readonly endpoint: string; readonly p256dh: string; readonly auth: string; readonly userAgent: string | null } & BrowserChanges,
): Promise<{ created: boolean; subscription: Subscription }> {
  const fresh = {
    projectId: project.id,
    endpoint: input.endpoint,
    p256dh: input.p256dh,
    auth: input.auth,
    uid: input.uid ?? null,
    tags: input.tags ? [...input.tags] : [],
    userEmail: input.userEmail ?? null,
    userAgent: input.userAgent,
  };
  return inTransaction(deps.db, async (tx) => {
    let existing = await findWebSubscriptionByEndpoint(tx, project.id, input.endpoint, { forUpdate: true, anyState: true });
    if (!existing) {
      const inserted = await insertBrowserSubscription(tx, fresh);
      if (inserted) return { created: true, subscription: inserted };
      // A racing twin inserted it first (its commit released us): prove and update that one.
      existing = (await findWebSubscriptionByEndpoint(tx, project.id, input.endpoint, { forUpdate: true, anyState: true }))!;
    }
    // Gone (pruned, deregistered): nothing to prove any more; it starts again as a new one would.
    if (existing.state !== 'active') return { created: true, subscription: await reviveBrowserSubscription(tx, existing.id, fresh) };
    proveHolder(existing, input.auth);
    return { created: false, subscription: await apply(tx, project, existing, input, input.userAgent) };
  });
}

/** Sets uid and/or tags of the browser's subscription; 404 when there is none with this endpoint. */
export async function updateBrowserSubscription(deps: Deps, project: Project, proof: BrowserProof, changes: BrowserChanges): Promise<Subscription> {
  return inTransaction(deps.db, async (tx) => {
    const existing = await findWebSubscriptionByEndpoint(tx, project.id, proof.endpoint, { forUpdate: true });
    if (!existing) throw notFound('a subscription with this endpoint');
    proveHolder(existing, proof.auth);
    return apply(tx, project, existing, changes);
  });
}

/** Unsubscribes; nothing to do when already gone. */
export async function unsubscribeBrowser(deps: Deps, project: Project, proof: BrowserProof): Promise<void> {
  const existing = await findWebSubscriptionByEndpoint(deps.db, project.id, proof.endpoint);
  if (!existing) return;
  proveHolder(existing, proof.auth);
  await deleteSubscription(deps.db, project.id, existing.id);
}

/** The browser's subscription, or null when it has none with this endpoint. */
export async function browserSubscriptionStatus(deps: Deps, project: Project, proof: BrowserProof): Promise<Subscription | null> {
  const existing = await findWebSubscriptionByEndpoint(deps.db, project.id, proof.endpoint);
  if (!existing) return null;
  proveHolder(existing, proof.auth);
  return existing;
}

/**
 * The uid (or user email) to store: undefined and null pass as they are; a value must carry a
 * valid signature (signature_for(value) under a token of the project), or any visitor could claim
 * another user's notifications.
 */
async function checkSigned(
  deps: Deps,
  projectId: number,
  given: string | null | undefined,
  signature: string | null | undefined,
  field: 'uid' | 'user_email',
) {
  const sigField = `${field}_signature`;
  if (given == null) {
    if (signature != null) throw validationError(sigField, 'uid_required', `is given without a ${field}`);
    return given;
  }
  if (signature == null) {
    throw new PushcastError('bad_request', `${sigField}: is required with a ${field} (signature_for(${field}): hex HMAC-SHA256 of it keyed with a project token)`, {
      field: sigField,
      rule: 'required',
    });
  }
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) {
    throw validationError(sigField, 'hmac_sha256_hex', `must be 64 hex digits: HMAC-SHA256 of the ${field} keyed with a project token`);
  }
  const states = await listUidSigningStates(deps.db, projectId);
  if (!states.some((state) => verifyUidSignature(state, given, signature))) {
    throw new PushcastError('forbidden', `${sigField}: is not signature_for(${field}) under any access token of project ${projectId}`, {
      field: sigField,
      rule: 'uid_signature',
    });
  }
  return given;
}

function checkTags(project: Project, tags: readonly string[] | undefined): void {
  tags?.forEach((tag, i) => {
    if (!browserMaySetTag(project.browserTagsAllowed, tag)) {
      throw validationError(`tags.${i}`, 'tag_not_allowed', `${tag} is not a tag browsers may set in project ${project.id} (browser_tags_allowed)`);
    }
  });
}

async function apply(q: Queryable, project: Project, s: Subscription, changes: BrowserChanges, userAgent?: string | null): Promise<Subscription> {
  const tags = changes.tags === undefined ? undefined : mergeBrowserTags(project.browserTagsAllowed, s.tags, changes.tags);
  // The server's tags are kept beside the browser's: together they must still fit the limit.
  if (tags !== undefined && tags.length > MAX_TAGS) {
    throw validationError('tags', 'max_items', `with the tags the site's server set, this subscription would have ${tags.length} tags; the limit is ${MAX_TAGS}`);
  }
  return (await updateSubscription(q, project.id, s.id, { uid: changes.uid, tags, userEmail: changes.userEmail, ...(userAgent ? { userAgent } : {}) }))!;
}

/** The auth secret given must be the stored one (compared as bytes: base64 and base64url are equal). */
function proveHolder(s: Subscription, auth: string): void {
  const stored = decodeBase64Any(s.auth ?? '');
  const given = decodeBase64Any(auth);
  if (!stored || !given || stored.length !== given.length || !timingSafeEqual(stored, given)) {
    throw new PushcastError('forbidden', 'keys.auth: is not the auth secret of the subscription with this endpoint', {
      field: 'keys.auth',
      rule: 'subscription_auth',
    });
  }
}
