import { hmac, safeEqual, sha256, type SecretBox } from '../lib/crypto.js';
import { deleteSession, findSessionByHash, insertSession, touchSession, type SessionRecord } from '../store/sessions.js';
import { findUserById, type User } from '../store/users.js';
import { listRoleIdsOfPrincipal } from '../store/role-assignments.js';
import type { DomainDeps } from './deps.js';
import { expiryPolicyOf, passwordExpiry, type PasswordExpiry } from './password-expiry.js';
import { resolveTenant } from './tenants.js';
import { findRole } from './roles.js';

/** Idle lifetime: every request moves the end this far out again. */
export const SESSION_IDLE_SECONDS = 8 * 3600;
/** Sliding writes are skipped when the last one is this recent, so reads do not write on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export interface SessionDeps extends Pick<DomainDeps, 'db' | 'clock' | 'random'> {
  readonly secretBox: Pick<SecretBox, 'derive'>;
}

export interface StartedSession {
  /** the cookie value; only its SHA-256 is stored */
  token: string;
  csrfToken: string;
  session: SessionRecord;
}

export interface ActiveSession {
  session: SessionRecord;
  user: User;
  csrfToken: string;
}

/**
 * The CSRF token of a session is derived from the session token with a server key, so it can be
 * shown again (GET /api/v1/session) while the database holds only its hash.
 */
export function csrfTokenFor(deps: Pick<SessionDeps, 'secretBox'>, sessionToken: string): string {
  return hmac(deps.secretBox.derive('session-csrf'), sessionToken);
}

export async function startSession(deps: SessionDeps, user: User): Promise<StartedSession> {
  const token = deps.random.token(32);
  const csrfToken = csrfTokenFor(deps, token);
  const now = deps.clock.now();
  const session: SessionRecord = {
    idHash: sha256(token),
    tenantId: user.tenantId,
    userId: user.id,
    csrfTokenHash: sha256(csrfToken),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + SESSION_IDLE_SECONDS * 1000).toISOString(),
    lastSeenAt: now.toISOString(),
  };
  await insertSession(deps.db, session);
  return { token, csrfToken, session };
}

/**
 * The live session behind a cookie value, or undefined. A session dies when it idles out, when its
 * user is disabled or deleted, or when the user's sessions were revoked after it began
 * (sign_in_sessions_valid_from). Dead sessions are deleted on sight.
 */
export async function resumeSession(deps: SessionDeps, token: string): Promise<ActiveSession | undefined> {
  if (token.length === 0 || token.length > 128) return undefined;
  const idHash = sha256(token);
  const session = await findSessionByHash(deps.db, idHash);
  if (!session) return undefined;
  const now = deps.clock.now();
  const user = await findUserById(deps.db, session.tenantId, session.userId);
  const dead =
    Date.parse(session.expiresAt) <= now.getTime() ||
    !user ||
    !user.accountEnabled ||
    Date.parse(user.signInSessionsValidFrom) > Date.parse(session.createdAt);
  if (dead || !user) {
    await deleteSession(deps.db, idHash);
    return undefined;
  }
  if (now.getTime() - Date.parse(session.lastSeenAt) >= TOUCH_INTERVAL_MS) {
    const expiresAt = new Date(now.getTime() + SESSION_IDLE_SECONDS * 1000).toISOString();
    await touchSession(deps.db, idHash, now.toISOString(), expiresAt);
    session.lastSeenAt = now.toISOString();
    session.expiresAt = expiresAt;
  }
  return { session, user, csrfToken: csrfTokenFor(deps, token) };
}

/** Compares a presented CSRF token with the session's stored hash, in constant time. */
export function csrfTokenMatches(session: SessionRecord, presented: string | undefined): boolean {
  if (!presented || presented.length > 128) return false;
  return safeEqual(sha256(presented), session.csrfTokenHash);
}

export async function endSession(deps: Pick<DomainDeps, 'db'>, token: string): Promise<void> {
  await deleteSession(deps.db, sha256(token));
}

/** The directory roles a signed-in user holds (directly or through a role-assignable group), for the portals' navigation. */
export async function rolesOfSessionUser(deps: Pick<DomainDeps, 'db'>, user: User): Promise<{ id: string; displayName: string }[]> {
  const ids = await listRoleIdsOfPrincipal(deps.db, user.tenantId, user.id);
  return ids.map((id) => ({ id, displayName: findRole(id)?.displayName ?? id })).sort((a, b) => a.displayName.localeCompare(b.displayName));
}

/**
 * The session user's password expiry now, under the tenant's current policy — the same figure the
 * sign-in computed, worked out again on each read so a change or a new policy shows at once.
 */
export async function sessionPasswordExpiry(deps: Pick<DomainDeps, 'db' | 'clock'>, user: User): Promise<PasswordExpiry | undefined> {
  const tenant = await resolveTenant(deps, user.tenantId);
  return tenant ? passwordExpiry(user, expiryPolicyOf(tenant), deps.clock.now()) : undefined;
}
