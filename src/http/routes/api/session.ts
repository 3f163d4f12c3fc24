import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { endSession, rolesOfSessionUser, sessionPasswordExpiry, startSession, type ActiveSession } from '../../../domain/sessions.js';
import { changePasswordAtSignIn } from '../../../domain/password-change.js';
import { signInWithPassword, type SignInFailure } from '../../../domain/sign-in.js';
import { registrationStatus } from '../../../domain/security-info/status.js';
import { requestContext } from '../../auth.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import type { User } from '../../../store/users.js';
import type { PasswordExpiry } from '../../../domain/password-expiry.js';
import { assertCsrf, assertSameOrigin, clearSessionCookie, readSession, sessionTokenOf, setSessionCookie } from '../../session-auth.js';
import { doc } from '../../openapi.js';

const signInBody = z
  .object({
    userPrincipalName: z.string().min(1).max(256),
    // generous bound only; the sign-in use case refuses anything over the policy maximum without hashing it
    password: z.string().min(1).max(4096),
  })
  .strict();

const changeAtSignInBody = z.strictObject({
  userPrincipalName: z.string().min(1).max(256),
  currentPassword: z.string().min(1).max(4096),
  newPassword: z.string().max(4096),
});

/**
 * The web portals' session: POST signs in (sets the `postern_session` cookie), GET shows the
 * session and its CSRF token, DELETE signs out (CSRF-protected like every cookie-authenticated write).
 */
export function sessionRoutes(app: FastifyInstance, services: Services): void {
  app.post('/api/v1/session', doc({ summary: 'Sign in to the web portals (sets the postern_session cookie)', description: 'JSON from the same origin only. The answer carries the CSRF token for later writes, and says when the password expires soon or security info registration is due.', tags: ['Session'], auth: 'none', body: signInBody, responses: { 200: 'Signed in', 400: 'Bad body', 401: 'Wrong user name or password', 403: 'Password change required, account disabled, or another origin', 423: 'Locked out' } }), async (request, reply) => {
    // JSON only, and from our own origin: a cross-site form must not sign a victim in to an attacker's account.
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) throw new AppError('request.unsupported_media_type');
    assertSameOrigin(services, request);
    const body = signInBody.parse(request.body);
    const result = await signInWithPassword(services, { userPrincipalName: body.userPrincipalName, password: body.password });
    app.metrics.signIns.inc({ result: result.ok ? 'success' : result.reason });
    if (!result.ok) throw signInError(result.reason);

    return signedIn(request, reply, result.user, result.expiry);
  });

  // The change step of a sign-in that answered "change required": old + new password, then signed in.
  app.post('/api/v1/session/password', doc({ summary: 'Change an expired or admin-reset password while signing in, then sign in', tags: ['Session'], auth: 'none', body: changeAtSignInBody, responses: { 200: 'Changed and signed in', 400: 'The new password breaks the policy (details list each rule)', 401: 'Wrong current password' } }), async (request, reply) => {
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) throw new AppError('request.unsupported_media_type');
    assertSameOrigin(services, request);
    const body = changeAtSignInBody.parse(request.body);
    const user = await changePasswordAtSignIn(services, requestContext(request, null), body);
    return signedIn(request, reply, user, undefined);
  });

  async function signedIn(request: FastifyRequest, reply: FastifyReply, user: User, expiry: PasswordExpiry | undefined) {
    const previous = sessionTokenOf(request);
    if (previous !== undefined) await endSession(services, previous);
    const started = await startSession(services, user);
    setSessionCookie(services, reply, started.token);
    // SSPR "require users to register when signing in": told, never enforced (the user may skip).
    const registration = await registrationStatus(services, user);
    return noStore(reply)
      .code(200)
      .send({
        ...(await view(services, user, started.csrfToken, started.session.expiresAt)),
        ...(expiry?.warn ? { passwordExpiresInDays: expiry.daysLeft } : {}),
        ...(registration.required ? { registrationRequired: true, registrationReason: registration.reason } : {}),
      });
  }

  app.get('/api/v1/session', doc({ summary: 'The current web session and its CSRF token', description: 'Says passwordExpiresInDays, as the sign-in answer does, while the password expires within the notification window: a reloaded page still shows the notice.', tags: ['Session'], auth: 'user', responses: { 200: 'The session', 401: 'No session' } }), async (request, reply) => {
    const active = await requireSession(services, request, reply);
    // computed now, not remembered from sign-in: a change or a new policy shows at the next read
    const expiry = await sessionPasswordExpiry(services, active.user);
    return noStore(reply).send({
      ...(await view(services, active.user, active.csrfToken, active.session.expiresAt)),
      ...(expiry?.warn ? { passwordExpiresInDays: expiry.daysLeft } : {}),
    });
  });

  app.delete('/api/v1/session', doc({ summary: 'Sign out (needs the X-CSRF-Token header)', tags: ['Session'], auth: 'user', responses: { 204: 'Signed out', 401: 'No session', 403: 'Missing or wrong CSRF token' } }), async (request, reply) => {
    const active = await requireSession(services, request, reply);
    assertCsrf(services, request, active);
    await endSession(services, sessionTokenOf(request)!);
    clearSessionCookie(services, reply);
    return noStore(reply).code(204).send();
  });
}

async function requireSession(services: Services, request: Parameters<typeof readSession>[1], reply: FastifyReply): Promise<ActiveSession> {
  const active = await readSession(services, request);
  if (active) return active;
  if (sessionTokenOf(request) !== undefined) clearSessionCookie(services, reply);
  throw new AppError('auth.session_required');
}

/** `roles`: the user's directory roles, so the portals know whether to offer the admin pages (the API still decides). */
async function view(services: Services, user: User, csrfToken: string, expiresAt: string) {
  return {
    user: { id: user.id, userPrincipalName: user.userPrincipalName, displayName: user.displayName, tenantId: user.tenantId },
    roles: await rolesOfSessionUser(services, user),
    csrfToken,
    expiresDateTime: expiresAt,
  };
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

function signInError(reason: SignInFailure): AppError {
  switch (reason) {
    case 'invalid_credentials':
      return new AppError('auth.invalid_credentials');
    case 'locked':
      return new AppError('auth.account_locked');
    case 'disabled':
      return new AppError('auth.account_disabled');
    case 'password_expired':
      return new AppError('auth.password_expired', {
        data: {
          changeRequired: true,
          changeEndpoint: '/api/v1/session/password',
          reason: 'Your password has expired or your admin requires a new one. Change your password, then sign in.',
        },
      });
  }
}
