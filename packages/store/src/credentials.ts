import {
  credentialsAad,
  credentialsFingerprint,
  credentialsFromPlaintext,
  credentialsPlaintext,
  err,
  ok,
  sealSecret,
  summarizeCredentials,
  type DeviceCredentials,
  type DevicePlatform,
  type ProjectCredentials,
  CREDENTIALS_REJECTED,
  NO_CREDENTIALS,
  type CredentialsState,
  type ProjectCredentialsSummary,
  type Result,
  type SecretKeyring,
} from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { openSealed, sealedParams, type SecretUnreadableReason } from './sealed.ts';
import { listWebPushRejections } from './web-push-rejections.ts';

/**
 * Provider credentials per project (table `project_credentials`, migration 0004), sealed with
 * AES-256-GCM under PUSHCAST_SECRET_KEY and bound to their project and platform; opened with the
 * key their `key_id` names (the current key or one of PUSHCAST_SECRET_KEY_PREVIOUS). Only the
 * non-secret summary is ever read without the key.
 */

interface SummaryRow {
  project_id: number;
  platform: DevicePlatform;
  summary: Record<string, unknown>;
  updated_at: Date;
  rejected_at: Date | null;
  rejected_reason: string | null;
}

interface SealedRow {
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
}

/** The summary as stored (snake_case jsonb) from the domain's summary. */
function summaryJson(c: DeviceCredentials): Record<string, unknown> {
  if (c.platform === 'apns') {
    const s = summarizeCredentials(c);
    return { key_id: s.keyId, team_id: s.teamId, topic: s.topic, production: s.production };
  }
  const s = summarizeCredentials(c);
  return { project_id: s.projectId, client_email: s.clientEmail, private_key_id: s.privateKeyId };
}

function withSummary(into: ProjectCredentialsSummary, r: SummaryRow): ProjectCredentialsSummary {
  const s = r.summary;
  const state: CredentialsState = {
    updatedAt: r.updated_at,
    status: r.rejected_at === null ? 'active' : 'rejected',
    rejectedReason: r.rejected_reason,
    rejectedAt: r.rejected_at,
  };
  if (r.platform === 'apns') {
    return {
      ...into,
      apns: {
        keyId: String(s.key_id),
        teamId: String(s.team_id),
        topic: String(s.topic),
        production: s.production === true,
        ...state,
      },
    };
  }
  return {
    ...into,
    fcm: {
      projectId: String(s.project_id),
      clientEmail: String(s.client_email),
      privateKeyId: typeof s.private_key_id === 'string' ? s.private_key_id : null,
      ...state,
    },
  };
}

/**
 * Seals and stores a project's credentials for one platform, replacing any it had: new credentials
 * are `active` again (a rejection was the old one's), and chunks waiting for them go on.
 */
export async function saveProjectCredentials(
  db: Queryable,
  secretKey: Buffer,
  projectId: number,
  credentials: DeviceCredentials,
): Promise<void> {
  const plaintext = credentialsPlaintext(credentials);
  const sealed = sealSecret(secretKey, plaintext, credentialsAad(projectId, credentials.platform));
  await db.query(
    `INSERT INTO project_credentials (project_id, platform, key_id, iv, ciphertext, auth_tag, summary, fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (project_id, platform) DO UPDATE SET
       key_id = EXCLUDED.key_id, iv = EXCLUDED.iv, ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag,
       summary = EXCLUDED.summary, fingerprint = EXCLUDED.fingerprint, rejected_at = NULL, rejected_reason = NULL, updated_at = now()`,
    [projectId, credentials.platform, ...sealedParams(sealed), JSON.stringify(summaryJson(credentials)), credentialsFingerprint(plaintext)],
  );
}

/** Removes a project's credentials for one platform; false when it had none. */
export async function deleteProjectCredentials(db: Queryable, projectId: number, platform: DevicePlatform): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM project_credentials WHERE project_id = $1 AND platform = $2`, [projectId, platform]);
  return rowCount === 1;
}

/** The non-secret summaries of these projects' credentials; a project without any maps to `{apns: null, fcm: null}`. */
export async function listCredentialSummaries(
  db: Queryable,
  projectIds: readonly number[],
): Promise<Map<number, ProjectCredentialsSummary>> {
  const result = new Map<number, ProjectCredentialsSummary>(projectIds.map((id) => [id, NO_CREDENTIALS]));
  if (projectIds.length === 0) return result;
  const [{ rows }, web] = await Promise.all([
    db.query<SummaryRow>(
      `SELECT project_id, platform, summary, updated_at, rejected_at, rejected_reason FROM project_credentials WHERE project_id = ANY($1::bigint[])`,
      [projectIds],
    ),
    listWebPushRejections(db, projectIds),
  ]);
  for (const r of rows) result.set(r.project_id, withSummary(result.get(r.project_id) ?? NO_CREDENTIALS, r));
  for (const [id, r] of web) {
    result.set(id, { ...(result.get(id) ?? NO_CREDENTIALS), web: { status: 'rejected', rejectedReason: r.reason, rejectedAt: r.rejectedAt } });
  }
  return result;
}

/**
 * Why stored credentials cannot be opened: a `SecretUnreadableReason` (no PUSHCAST_SECRET_KEY, a
 * key this process does not hold, a changed row or one of another project/platform), or
 * `malformed`: it opened, but is not what Pushcast seals (never expected).
 */
export type CredentialsUnreadableReason = SecretUnreadableReason | 'malformed';

/** Opens a project's credentials for one platform, saying why when they do not open. null = none configured. */
export async function openProjectCredentials(
  db: Queryable,
  ring: SecretKeyring,
  projectId: number,
  platform: DevicePlatform,
): Promise<Result<ProjectCredentials | null, CredentialsUnreadableReason>> {
  const opened = await openRow(db, ring, projectId, platform);
  return opened.ok ? ok(opened.value?.credentials ?? null) : opened;
}

/** The credentials opened, and whether their provider refused them (`rejectProjectCredentials`). */
async function openRow(
  db: Queryable,
  ring: SecretKeyring,
  projectId: number,
  platform: DevicePlatform,
): Promise<Result<{ credentials: ProjectCredentials; rejected: boolean } | null, CredentialsUnreadableReason>> {
  const { rows } = await db.query<SealedRow & { rejected: boolean }>(
    `SELECT key_id, iv, ciphertext, auth_tag, rejected_at IS NOT NULL AS rejected FROM project_credentials WHERE project_id = $1 AND platform = $2`,
    [projectId, platform],
  );
  const row = rows[0];
  if (!row) return ok(null);
  const opened = openSealed(
    ring,
    { keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, authTag: row.auth_tag },
    credentialsAad(projectId, platform),
  );
  if (!opened.ok) return opened;
  const plaintext = opened.value.toString('utf8');
  const parsed = credentialsFromPlaintext(platform, plaintext);
  if (!parsed.ok) return err('malformed');
  const fingerprint = credentialsFingerprint(plaintext);
  const c = parsed.value;
  const credentials: ProjectCredentials =
    c.platform === 'apns' ? { platform: 'apns', fingerprint, apns: c.apns } : { platform: 'fcm', fingerprint, fcm: c.fcm };
  return ok({ credentials, rejected: row.rejected });
}

/**
 * The worker's entry point: a project's opened credentials for one platform. null = none
 * configured; `credentials_unreadable` = no PUSHCAST_SECRET_KEY, a different key, or a changed row
 * (`openProjectCredentials` says which); `credentials_rejected` = the provider refused these
 * credentials (see `rejectProjectCredentials`): the project's chunks wait until they are replaced.
 */
export async function loadProjectCredentials(
  db: Queryable,
  ring: SecretKeyring,
  projectId: number,
  platform: DevicePlatform,
): Promise<Result<ProjectCredentials | null, 'credentials_unreadable' | typeof CREDENTIALS_REJECTED>> {
  const opened = await openRow(db, ring, projectId, platform);
  if (!opened.ok) return err('credentials_unreadable');
  if (opened.value?.rejected) return err(CREDENTIALS_REJECTED);
  return ok(opened.value?.credentials ?? null);
}

/**
 * Marks a project's credential for a platform rejected, with the provider's reason, and emits
 * `credentials.rejected` in the same statement, once: only while the stored credential is still
 * the one refused (`fingerprint`; rows saved before fingerprints were kept match any) and not
 * rejected already. Returns true when this call marked it.
 */
export async function rejectProjectCredentials(
  db: Queryable,
  projectId: number,
  platform: DevicePlatform,
  fingerprint: string,
  reason: string,
): Promise<boolean> {
  const { rows } = await db.query<{ id: string | null }>(
    `WITH c AS (
       UPDATE project_credentials SET rejected_at = now(), rejected_reason = $4
       WHERE project_id = $1 AND platform = $2 AND rejected_at IS NULL AND (fingerprint IS NULL OR fingerprint = $3)
       RETURNING project_id, platform, rejected_at, rejected_reason, updated_at)
     SELECT pushcast_emit_event(c.project_id, 'credentials.rejected',
              jsonb_build_object('project_id', c.project_id, 'platform', c.platform, 'reason', c.rejected_reason,
                                 'rejected_at', c.rejected_at, 'credentials_updated_at', c.updated_at),
              'credentials.rejected:' || c.project_id || ':' || c.platform || ':' || extract(epoch FROM c.updated_at)) AS id
     FROM c`,
    [projectId, platform, fingerprint, reason],
  );
  return rows.length === 1;
}
