import { ApiError } from '../../lib/api';

/**
 * Helpers shared by the end-user pages.
 *
 * Graph routes (/v1.0/…) answer errors in Graph's shape: a generic Graph code, the policy rules in
 * `details` and Postern's own code in `innerError.code`. Postern routes (/api/v1/…) answer Postern's
 * code and `details.violations` as {code, message}. `asPosternError` turns both into one shape —
 * Postern's code and `details.violations` as {rule, message} — so ErrorAlert translates the exact
 * reason (errors:<code>) and each broken rule (errors:rule.<rule>).
 */
export function asPosternError(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const body = (err.body ?? {}) as { error?: { details?: unknown; innerError?: { code?: unknown } } };
  const graphInner = body.error?.innerError;
  const code = typeof graphInner?.code === 'string' ? graphInner.code : err.code;
  let violations: { rule: string; message: string }[] | undefined;
  const raw = Array.isArray(body.error?.details) ? body.error.details : (err.details as { violations?: unknown } | null)?.violations;
  if (Array.isArray(raw)) {
    violations = raw
      .filter((v): v is { code?: unknown; rule?: unknown; message?: unknown } => typeof v === 'object' && v !== null)
      .map((v) => ({ rule: typeof v.rule === 'string' ? v.rule : typeof v.code === 'string' ? v.code : '', message: typeof v.message === 'string' ? v.message : '' }));
  }
  const details = typeof graphInner === 'object' && graphInner !== null ? {} : ((err.details ?? {}) as Record<string, unknown>);
  return new ApiError(err.status, code, err.message, { ...details, ...(violations ? { violations } : {}) }, err.body);
}

/** The code of an error in either shape (Graph's innerError.code first). */
export function errorCode(err: unknown): string | null {
  const e = asPosternError(err);
  return e instanceof ApiError ? e.code : null;
}

/** A returnTo that stays on this site: a path starting with one "/" (not "//" or "/\\"), else null. */
export function safeReturnTo(value: string | null): string | null {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  if ([...value].some((c) => c === '\\' || c.charCodeAt(0) < 0x20)) return null;
  return value;
}

/**
 * The expiry notice the sign-in answer carried, kept for this browser tab (sessionStorage) as a
 * date, so the overview still shows it after a reload (GET /api/v1/session does not repeat it).
 */
const EXPIRY_KEY = 'postern.passwordExpiresAt';
const DAY_MS = 86_400_000;

export function rememberPasswordExpiry(userId: string, daysLeft: number | undefined): void {
  try {
    if (typeof daysLeft === 'number') sessionStorage.setItem(EXPIRY_KEY, JSON.stringify({ userId, at: Date.now() + daysLeft * DAY_MS }));
    else sessionStorage.removeItem(EXPIRY_KEY);
  } catch {
    // storage disabled: the notice shows right after sign-in only
  }
}

export function rememberedPasswordExpiryDays(userId: string): number | undefined {
  try {
    const v = JSON.parse(sessionStorage.getItem(EXPIRY_KEY) ?? 'null') as { userId?: unknown; at?: unknown } | null;
    if (!v || v.userId !== userId || typeof v.at !== 'number') return undefined;
    return Math.max(0, Math.ceil((v.at - Date.now()) / DAY_MS));
  } catch {
    return undefined;
  }
}
