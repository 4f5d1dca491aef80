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
  type ProjectCredentialsSummary,
  type Result,
  type SecretKeyring,
} from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { openSealed, sealedParams, type SecretUnreadableReason } from './sealed.ts';

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
  if (r.platform === 'apns') {
    return {
      ...into,
      apns: {
        keyId: String(s.key_id),
        teamId: String(s.team_id),
        topic: String(s.topic),
        production: s.production === true,
        updatedAt: r.updated_at,
      },
    };
  }
  return {
    ...into,
    fcm: {
      projectId: String(s.project_id),
      clientEmail: String(s.client_email),
      privateKeyId: typeof s.private_key_id === 'string' ? s.private_key_id : null,
      updatedAt: r.updated_at,
    },
  };
}

/** Seals and stores a project's credentials for one platform, replacing any it had. */
export async function saveProjectCredentials(
  db: Queryable,
  secretKey: Buffer,
  projectId: number,
  credentials: DeviceCredentials,
): Promise<void> {
  const sealed = sealSecret(secretKey, credentialsPlaintext(credentials), credentialsAad(projectId, credentials.platform));
  await db.query(
    `INSERT INTO project_credentials (project_id, platform, key_id, iv, ciphertext, auth_tag, summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (project_id, platform) DO UPDATE SET
       key_id = EXCLUDED.key_id, iv = EXCLUDED.iv, ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag,
       summary = EXCLUDED.summary, updated_at = now()`,
    [projectId, credentials.platform, ...sealedParams(sealed), JSON.stringify(summaryJson(credentials))],
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
  const result = new Map<number, ProjectCredentialsSummary>(projectIds.map((id) => [id, { apns: null, fcm: null }]));
  if (projectIds.length === 0) return result;
  const { rows } = await db.query<SummaryRow>(
    `SELECT project_id, platform, summary, updated_at FROM project_credentials WHERE project_id = ANY($1::bigint[])`,
    [projectIds],
  );
  for (const r of rows) result.set(r.project_id, withSummary(result.get(r.project_id) ?? { apns: null, fcm: null }, r));
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
  const { rows } = await db.query<SealedRow>(
    `SELECT key_id, iv, ciphertext, auth_tag FROM project_credentials WHERE project_id = $1 AND platform = $2`,
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
  return ok(c.platform === 'apns' ? { platform: 'apns', fingerprint, apns: c.apns } : { platform: 'fcm', fingerprint, fcm: c.fcm });
}

/**
 * The worker's entry point: a project's opened credentials for one platform. null = none
 * configured; `credentials_unreadable` = no PUSHCAST_SECRET_KEY, a different key, or a changed row
 * (`openProjectCredentials` says which).
 */
export async function loadProjectCredentials(
  db: Queryable,
  ring: SecretKeyring,
  projectId: number,
  platform: DevicePlatform,
): Promise<Result<ProjectCredentials | null, 'credentials_unreadable'>> {
  const opened = await openProjectCredentials(db, ring, projectId, platform);
  return opened.ok ? opened : err('credentials_unreadable');
}
