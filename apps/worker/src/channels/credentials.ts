import { err, ok, type DevicePlatform, type ProjectCredentials, type Result } from '@pushcast/domain';
import type { OutcomeSink } from './channel.ts';

/** A project's credentials for a platform: null when none are set; an error when they cannot be opened. */
export type CredentialsSource = (projectId: number, platform: DevicePlatform) => Promise<Result<ProjectCredentials | null, string>>;

/** The project's credentials for `platform`, or why its devices cannot be sent to (`no_credentials`, `credentials_unreadable`). */
export async function credentialsFor<P extends DevicePlatform>(
  source: CredentialsSource,
  projectId: number,
  platform: P,
): Promise<Result<Extract<ProjectCredentials, { platform: P }>, string>> {
  const found = await source(projectId, platform);
  if (!found.ok) return err(found.error);
  if (found.value === null || found.value.platform !== platform) return err('no_credentials');
  return ok(found.value as Extract<ProjectCredentials, { platform: P }>);
}

/** Tells a refusal of the credential which credential it was (its fingerprint), for the credential breaker. */
export const naming =
  (fingerprint: string, onOutcome: OutcomeSink): OutcomeSink =>
  (i, o) =>
    onOutcome(i, o.kind === 'refused' ? { ...o, credential: fingerprint } : o);
