import { ApiError } from '../../lib/api';

/** Helpers shared by the end-user pages. lib/api.ts already gives both surfaces' errors Postern's code. */

/** The Postern code of an API error, else null. */
export function errorCode(err: unknown): string | null {
  return err instanceof ApiError ? err.code : null;
}

/** A returnTo that stays on this site: a path starting with one "/" (not "//" or "/\\"), else null. */
export function safeReturnTo(value: string | null): string | null {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  if ([...value].some((c) => c === '\\' || c.charCodeAt(0) < 0x20)) return null;
  return value;
}
