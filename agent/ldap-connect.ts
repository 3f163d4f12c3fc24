import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Client } from 'ldapts';
import { DirectoryRefusal, type DirectoryConnection } from './target.js';

/**
 * The one way the agent opens an LDAP connection (SPEC 3.6 item 7): ldaps://, or ldap:// upgraded
 * with StartTLS, always verifying the server's certificate (against caFile when given). A plain
 * ldap:// URL without StartTLS is refused before any packet is sent, so a password never crosses
 * the network in clear.
 */
export function assertSecureConnection(conn: Pick<DirectoryConnection, 'url' | 'startTls'>): void {
  let url: URL;
  try {
    url = new URL(conn.url);
  } catch {
    throw new DirectoryRefusal('other', `not an LDAP URL: ${conn.url}`);
  }
  if (url.protocol === 'ldaps:') return;
  if (url.protocol === 'ldap:' && conn.startTls) return;
  if (url.protocol === 'ldap:') throw new DirectoryRefusal('other', `refusing ${conn.url}: plain ldap:// without StartTLS would send passwords in clear; use ldaps:// or enable StartTLS`);
  throw new DirectoryRefusal('other', `refusing ${conn.url}: only ldaps:// or ldap:// with StartTLS`);
}

function tlsOptions(conn: DirectoryConnection): { ca?: Buffer; rejectUnauthorized: true; servername?: string } {
  const host = new URL(conn.url).hostname;
  // SNI must not be an IP address; certificate checks still cover IP SANs
  const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
  return { ...(conn.caFile ? { ca: readFileSync(conn.caFile) } : {}), rejectUnauthorized: true, ...(servername ? { servername } : {}) };
}

/** ldapts 8.x internals the agent relies on (test/agent/ldap-pool.test.ts fails if they change): connect, socket teardown, the socket. */
interface ClientInternals {
  _connect(): Promise<void> | void;
  _destroySocket(socket: Socket | undefined): void;
  socket?: Socket;
}

/**
 * ldapts reconnects by itself when an operation finds the socket closed — unbound, and for ldap://
 * without StartTLS, i.e. in clear. Once a client is connected (and secured), any reconnect is refused
 * instead: the operation fails as a lost connection (no LDAP result code), which the caller reports
 * as unreachable or retries on a fresh connection (agent/ldap-pool.ts), never as a misleading refusal.
 */
function forbidReconnect(client: Client): void {
  (client as unknown as ClientInternals)._connect = () => {
    throw new Error('the connection to the directory was closed; not reconnecting (it would be unbound)');
  };
}

/** The client's socket (for the pool's liveness check, and for tests that cut a connection). */
export function clientSocket(client: Client): Socket | undefined {
  return (client as unknown as ClientInternals).socket;
}

/** Connected, secured and not torn down: a socket ldapts still reports connected can already be destroyed. */
export function isAlive(client: Client): boolean {
  const socket = clientSocket(client);
  return client.isConnected && socket !== undefined && !socket.destroyed;
}

/**
 * An unbound, encrypted, connected client (StartTLS done when asked). Call `.bind` yourself;
 * `.unbind()` when done. It never reconnects once connected (see forbidReconnect).
 */
export async function openClient(conn: DirectoryConnection): Promise<Client> {
  assertSecureConnection(conn);
  const tls = tlsOptions(conn);
  const ldaps = new URL(conn.url).protocol === 'ldaps:';
  // ldapts opens TLS at connect time whenever tlsOptions is set, even for ldap://: give them only
  // for ldaps://, and to startTLS() otherwise
  const client = new Client({ url: conn.url, timeout: conn.timeoutMs, connectTimeout: conn.timeoutMs, ...(ldaps ? { tlsOptions: tls } : {}) });
  const internals = client as unknown as ClientInternals;
  try {
    await internals._connect();
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw connectionFailure(err);
  }
  if (!ldaps) {
    const plain = internals.socket;
    try {
      await client.startTLS(tls);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      plain?.destroy();
      throw new DirectoryRefusal('unreachable', `StartTLS failed: ${(err as Error).message}`);
    }
    // ldapts watches only the plain socket under the TLS one: when the TLS socket closes, close the plain
    // one (ldapts then fails what is in flight) and mark the client disconnected, as it does for ldaps://
    const secure = internals.socket;
    secure?.once('close', () => {
      plain?.destroy();
      internals._destroySocket(secure);
    });
  }
  forbidReconnect(client);
  return client;
}

/** A client bound as the service account. */
export async function openServiceClient(conn: DirectoryConnection): Promise<Client> {
  const client = await openClient(conn);
  try {
    await client.bind(conn.bindDn, conn.bindPassword);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw connectionFailure(err);
  }
  return client;
}

/** Network, TLS and timeout errors become 'unreachable'; a refused service bind 'accessDenied'. */
export function connectionFailure(err: unknown): DirectoryRefusal {
  if (err instanceof DirectoryRefusal) return err;
  const e = err as { code?: unknown; message?: string; name?: string };
  const message = e.message ?? String(err);
  if (e.name === 'InvalidCredentialsError' || e.code === 49) return new DirectoryRefusal('accessDenied', `service account bind refused: ${message}`);
  return new DirectoryRefusal('unreachable', message);
}

/**
 * RFC 4515 escaping of a value placed in a search filter string: \ * ( ) NUL and the other ASCII
 * control characters become \xx. Non-ASCII characters stay as they are (RFC 4515 allows UTF-8 there):
 * ldapts 8 decodes each \xx escape to one character and re-encodes the string as UTF-8, so escaping
 * the bytes of a multi-byte character would corrupt it. Binary values (objectGUID) need ldapts's
 * filter objects instead of a string.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f || ch === '\\' || ch === '*' || ch === '(' || ch === ')') out += `\\${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}
