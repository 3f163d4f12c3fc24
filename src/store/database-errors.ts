/**
 * Whether an error thrown by a query means the database cannot be used right now — as opposed to a
 * query that is wrong or data that breaks a constraint. The HTTP layer answers these with 503 and
 * Retry-After (src/http/errors.ts) instead of a 500: the request can be sent again as it is, and the
 * process recovers by itself once the database is back (pg's pool opens new connections; SQLite's
 * lock is released). Nothing of a failed request's transaction was kept: it rolled back with it.
 */

/** PostgreSQL SQLSTATEs of a server that is going away, starting, out of connections or unreachable. */
const PG_UNAVAILABLE_CLASSES = ['08']; // connection_exception
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53100', '58030']); // admin/crash shutdown, cannot connect now, too many connections, disk full, io error

/** Node's socket errors while connecting to or talking with the server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** SQLite result codes of a database that is locked by someone else beyond busy_timeout, or whose file cannot be used. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOLFS)(_|$)/;

/** pg's own messages for a connection that ended under a query or could not be made in time. */
const PG_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, name } = err as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string') {
    if (name === 'SqliteError') return SQLITE_UNAVAILABLE.test(code);
    if (SOCKET_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && (PG_UNAVAILABLE_STATES.has(code) || PG_UNAVAILABLE_CLASSES.includes(code.slice(0, 2)))) return true;
  }
  return typeof message === 'string' && PG_MESSAGES.test(message);
}
