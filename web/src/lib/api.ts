/**
 * The portals' one way to the server: same-origin JSON with the session cookie, and the session's
 * CSRF token on every write (the server refuses cookie-authenticated writes without it). Errors come
 * back as ApiError with the server's code, message and details (Postern's `details` or Graph's
 * `innerError`), so a page can show the exact reason and the support code.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** Postern's code (`user.not_found`, `password.policy_violation` …) on both surfaces */
    readonly code: string,
    message: string,
    /** Postern's `details`; for Graph answers {violations} from Graph's `details` list */
    readonly details: unknown,
    readonly body: unknown,
    /** the server's request id, for the help desk */
    readonly requestId: string | null = null,
    /** Graph's own code (`Request_ResourceNotFound` …) when the answer came from a /v1.0 route */
    readonly graphCode: string | null = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
const sessionLostListeners = new Set<() => void>();

/** Set by the session provider after sign-in or when the session is read. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request finds the session gone (expired, signed out elsewhere, revoked by an admin). */
export function onSessionLost(listener: () => void): () => void {
  sessionLostListeners.add(listener);
  return () => sessionLostListeners.delete(listener);
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RequestOptions {
  signal?: AbortSignal;
  /** extra headers (e.g. ConsistencyLevel for Graph) */
  headers?: Record<string, string>;
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  return errorFromBody(res.status, res.statusText, body);
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * One error shape from either surface. Postern routes (/api/v1) answer {code, message, details,
 * requestId}; Graph routes (/v1.0) answer Graph's generic code with Postern's in `innerError.code`,
 * the request id in `innerError['request-id']` and a password policy's failed rules as a `details`
 * list. Either way the page gets Postern's code (what errors:<code> translates) and
 * `details.violations` as {rule, message} (what errors:rule.<rule> translates).
 */
export function errorFromBody(status: number, statusText: string, body: unknown): ApiError {
  type Violation = { code?: unknown; rule?: unknown; message?: unknown };
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; innerError?: { code?: unknown; 'request-id'?: unknown }; requestId?: unknown } } | null)?.error;
  const inner = e?.innerError;
  const graph = typeof inner === 'object' && inner !== null;
  const code = (graph ? str(inner.code) : null) ?? str(e?.code) ?? `http_${status}`;
  const message = str(e?.message) ?? (statusText || `HTTP ${status}`);
  const rawViolations: unknown = Array.isArray(e?.details) ? e.details : (e?.details as { violations?: unknown } | undefined)?.violations;
  const violations = Array.isArray(rawViolations)
    ? rawViolations
        .filter((v): v is Violation => typeof v === 'object' && v !== null)
        .map((v) => ({ rule: str(v.rule) ?? str(v.code) ?? '', message: str(v.message) ?? '' }))
    : undefined;
  const base = !graph && typeof e?.details === 'object' && e.details !== null && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
  const details = violations ? { ...base, violations } : e?.details === undefined && !graph ? null : base;
  const requestId = (graph ? str(inner['request-id']) : null) ?? str(e?.requestId);
  return new ApiError(status, code, message, details, body, requestId, graph ? str(e?.code) : null);
}

export async function request<T>(method: Method, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? null : JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && (err.code === 'auth.session_required' || err.code === 'InvalidAuthenticationToken')) for (const l of sessionLostListeners) l();
    throw err;
  }
  if (res.status === 204 || res.status === 202 && res.headers.get('content-length') === '0') return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body ?? {}, options),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PATCH', path, body, options),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PUT', path, body, options),
  del: <T = void>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
};

/** A query string from defined values only. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
