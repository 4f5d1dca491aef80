import type { DevicePlatform, ProjectCredentials, Result } from '@pushcast/domain';

/** A project's credentials for a platform: null when none are set; an error when they cannot be opened. */
export type CredentialsSource = (projectId: number, platform: DevicePlatform) => Promise<Result<ProjectCredentials | null, string>>;
