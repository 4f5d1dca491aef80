import { timingSafeEqual } from 'node:crypto';
import { canAccessProject, hashAccessToken, PushcastError, type Principal } from '@pushcast/domain';
import { findAccessTokenByHash, type Db } from '@pushcast/store';
import type { FastifyRequest } from 'fastify';

/**
 * `Authorization: Bearer <token>` (Pushpad's Node, Python, Go, PHP and Java clients) or
 * `Authorization: Token token="<token>"` (the Ruby client and Pushpad's docs).
 */
export function tokenFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = header.match(/^Bearer\s+(\S+)\s*$/i);
  if (bearer) return bearer[1]!;
  const token = header.match(/^Token\s+token="([^"]+)"\s*$/i) ?? header.match(/^Token\s+token=(\S+)\s*$/i);
  return token ? token[1]! : null;
}

export interface Authenticator {
  authenticate(request: FastifyRequest): Promise<Principal>;
  /** The principal of a token given some other way (the password of Bull Board's Basic auth). */
  authenticateToken(token: string): Promise<Principal>;
}

export function createAuthenticator(db: Db, adminToken: string | undefined): Authenticator {
  const adminHash = adminToken === undefined ? null : hashAccessToken(adminToken);
  const authenticateToken = async (token: string): Promise<Principal> => {
    const hash = hashAccessToken(token);
    if (adminHash !== null && timingSafeEqual(hash, adminHash)) return { kind: 'admin', tokenId: null };
    const stored = await findAccessTokenByHash(db, hash);
    if (stored === null) throw new PushcastError('unauthorized', 'invalid access token', { rule: 'token_invalid' });
    return stored.admin
      ? { kind: 'admin', tokenId: stored.id }
      : { kind: 'project', tokenId: stored.id, projectIds: new Set(stored.projectIds) };
  };
  return {
    async authenticate(request) {
      const token = tokenFromHeader(request.headers.authorization);
      if (token === null) {
        throw new PushcastError('unauthorized', 'missing access token: send Authorization: Bearer <token>', {
          rule: 'token_required',
        });
      }
      return authenticateToken(token);
    },
    authenticateToken,
  };
}

export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') {
    throw new PushcastError('forbidden', 'this action needs an admin token', { rule: 'admin_required' });
  }
}

/**
 * A scoped token learns nothing about projects outside its scope: it gets 403 whether or not the
 * project exists.
 */
export function requireProject(principal: Principal, projectId: number): void {
  if (!canAccessProject(principal, projectId)) {
    throw new PushcastError('forbidden', `this token has no access to project ${projectId}`, { rule: 'project_scope' });
  }
}
