import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csrfTokenMatches, resumeSession, SESSION_IDLE_SECONDS, type ActiveSession } from '../domain/sessions.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { headerValue } from './errors.js';

export const SESSION_COOKIE = 'postern_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** HttpOnly so scripts never see it; SameSite=Lax so other sites' subrequests do not carry it; Secure on https. */
export function sessionCookieOptions(services: Pick<Services, 'config'>): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: services.config.publicUrl.startsWith('https://'),
    maxAge: SESSION_IDLE_SECONDS,
  };
}

export function setSessionCookie(services: Pick<Services, 'config'>, reply: FastifyReply, token: string): void {
  void reply.setCookie(SESSION_COOKIE, token, sessionCookieOptions(services));
}

export function clearSessionCookie(services: Pick<Services, 'config'>, reply: FastifyReply): void {
  const { maxAge: _maxAge, ...options } = sessionCookieOptions(services);
  void reply.clearCookie(SESSION_COOKIE, options);
}

export function sessionTokenOf(request: FastifyRequest): string | undefined {
  const value = request.cookies?.[SESSION_COOKIE];
  return value ? value : undefined;
}

/** The live session of the request's cookie, or undefined (no cookie, unknown, expired or revoked). */
export async function readSession(services: Services, request: FastifyRequest): Promise<ActiveSession | undefined> {
  const token = sessionTokenOf(request);
  return token === undefined ? undefined : resumeSession(services, token);
}

/**
 * CSRF defence for cookie-authenticated writes: the session's token in X-CSRF-Token (a header a
 * cross-site form cannot set, and a cross-site script cannot read), and, when the browser sends an
 * Origin, our own origin. Safe methods are not checked; they must not change anything.
 */
export function assertCsrf(services: Pick<Services, 'config'>, request: FastifyRequest, session: ActiveSession): void {
  if (SAFE_METHODS.has(request.method)) return;
  assertSameOrigin(services, request);
  if (!csrfTokenMatches(session.session, headerValue(request, CSRF_HEADER))) {
    throw new AppError('auth.csrf_failed', { message: 'The request was refused because its X-CSRF-Token header is missing or wrong.' });
  }
}

/**
 * An Origin header, when present, must be PUBLIC_URL's origin; and a browser's Fetch Metadata, when
 * present, must not say the request came from another site (`Sec-Fetch-Site: cross-site` or
 * `same-site`: a sibling subdomain is another site to us). The portals call the API same-origin;
 * programs send neither header.
 */
export function assertSameOrigin(services: Pick<Services, 'config'>, request: FastifyRequest): void {
  const site = headerValue(request, 'sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') {
    throw new AppError('auth.csrf_failed', { message: 'The request was refused because the browser says it came from another site (Sec-Fetch-Site).' });
  }
  const origin = headerValue(request, 'origin');
  if (origin !== undefined && origin !== new URL(services.config.publicUrl).origin) {
    throw new AppError('auth.csrf_failed', { message: 'The request was refused because it came from another origin.' });
  }
}
