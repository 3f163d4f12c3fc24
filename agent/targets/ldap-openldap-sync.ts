import type { Client, Entry } from 'ldapts';
import type { DirectoryGroup, DirectoryUser, SyncScope } from '../target.js';
import { ldapRefusal } from './ldap-exop.js';

/**
 * Sync reads for the OpenLDAP target: inetOrgPerson users and groupOfNames groups under the scope's
 * base DN, paged (RFC 2696). Group membership comes from the groups' member values (no memberOf
 * overlay needed). passwordHash is the userPassword value as stored ({SSHA}…), for hash sync.
 */

const PAGE_SIZE = 500;
const DISABLED_LOCK_TIME = '000001010000Z';

function first(entry: Entry, attr: string): string | null {
  const v = entry[attr];
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return null;
  return Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

function all(entry: Entry, attr: string): string[] {
  const v = entry[attr];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/** A DN compared loosely: lower case, no blanks around separators. */
export function normalizeDn(dn: string): string {
  return dn.toLowerCase().replace(/\s*([,=+])\s*/g, '$1').trim();
}

/** 20261126014117Z / 20261126014117.123Z → ISO-8601, or null. */
export function generalizedTimeToIso(value: string | null): string | null {
  const m = value?.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/);
  if (!m) return null;
  const ms = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Math.round(ms)));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function userFilter(scope: SyncScope): string {
  if (!scope.userFilter) return '(objectClass=inetOrgPerson)';
  const f = scope.userFilter.trim();
  return `(&(objectClass=inetOrgPerson)${f.startsWith('(') ? f : `(${f})`})`;
}

async function* paged(client: Client, base: string, filter: string, attributes: string[], explicitBufferAttributes: string[] = []): AsyncGenerator<Entry> {
  try {
    for await (const page of client.searchPaginated(base, { scope: 'sub', filter, attributes, explicitBufferAttributes, paged: { pageSize: PAGE_SIZE } })) {
      yield* page.searchEntries;
    }
  } catch (err) {
    throw ldapRefusal(err, null, `search under ${base}`);
  }
}

/** member DN (normalized) → entryUUIDs of the groups listing it. */
async function membership(client: Client, scope: SyncScope): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  for await (const g of paged(client, scope.baseDn, '(objectClass=groupOfNames)', ['entryUUID', 'member'])) {
    const anchor = first(g, 'entryUUID');
    if (!anchor) continue;
    for (const member of all(g, 'member')) {
      const key = normalizeDn(member);
      const list = map.get(key);
      if (list) list.push(anchor);
      else map.set(key, [anchor]);
    }
  }
  return map;
}

export async function* listOpenLdapUsers(client: Client, scope: SyncScope): AsyncGenerator<DirectoryUser> {
  const groups = await membership(client, scope);
  const attributes = ['entryUUID', 'uid', 'mail', 'cn', 'displayName', 'givenName', 'sn', 'userPassword', 'pwdChangedTime', 'pwdAccountLockedTime'];
  for await (const e of paged(client, scope.baseDn, userFilter(scope), attributes, ['userPassword'])) {
    const anchor = first(e, 'entryUUID');
    const name = first(e, 'uid') ?? first(e, 'cn');
    if (!anchor || !name) continue;
    yield {
      anchor,
      dn: e.dn,
      name,
      userPrincipalName: null,
      mail: first(e, 'mail'),
      displayName: first(e, 'displayName') ?? first(e, 'cn'),
      givenName: first(e, 'givenName'),
      surname: first(e, 'sn'),
      enabled: first(e, 'pwdAccountLockedTime') !== DISABLED_LOCK_TIME,
      groupAnchors: groups.get(normalizeDn(e.dn)) ?? [],
      passwordHash: first(e, 'userPassword'),
      passwordChangedAt: generalizedTimeToIso(first(e, 'pwdChangedTime')),
    };
  }
}

export async function* listOpenLdapGroups(client: Client, scope: SyncScope): AsyncGenerator<DirectoryGroup> {
  for await (const g of paged(client, scope.baseDn, '(objectClass=groupOfNames)', ['entryUUID', 'cn', 'displayName', 'description'])) {
    const anchor = first(g, 'entryUUID');
    if (!anchor) continue;
    yield { anchor, dn: g.dn, displayName: first(g, 'displayName') ?? first(g, 'cn') ?? g.dn, description: first(g, 'description') };
  }
}
