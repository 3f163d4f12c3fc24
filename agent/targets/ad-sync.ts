import type { Client, Entry } from 'ldapts';
import { DirectoryRefusal, type DirectoryGroup, type DirectoryUser, type SyncScope } from '../target.js';
import { guidToAnchor } from './ad-guid.js';

/** Reading users and groups out of AD for sync: paged searches, anchors from objectGUID. */

export const AD_USER_CLASS = '(objectCategory=person)(objectClass=user)';
const PAGE_SIZE = 500;
const USER_ATTRIBUTES = ['objectGUID', 'sAMAccountName', 'userPrincipalName', 'mail', 'displayName', 'givenName', 'sn', 'userAccountControl', 'memberOf', 'pwdLastSet'];
const GROUP_ATTRIBUTES = ['objectGUID', 'cn', 'displayName', 'sAMAccountName', 'description'];

export function firstValue(v: unknown): string | null {
  if (Array.isArray(v)) return v.length ? valueText(v[0]) : null;
  return v === undefined || v === null ? null : valueText(v);
}
function valueText(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}
function allValues(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(valueText);
  return v === undefined || v === null ? [] : [valueText(v)];
}
export function guidOf(entry: Entry): Buffer | null {
  const v = entry['objectGUID'];
  const b = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(b) && b.length === 16 ? b : null;
}

/** AD FILETIME (100-ns ticks since 1601-01-01 UTC) → ISO-8601; 0 ("must change") and "never" → null */
export function fileTimeToIso(v: unknown): string | null {
  const s = firstValue(v);
  if (s === null || !/^\d+$/.test(s)) return null;
  const ticks = BigInt(s);
  if (ticks === 0n || ticks >= 0x7fffffffffffffffn) return null;
  const ms = Number(ticks / 10_000n) - 11_644_473_600_000;
  return new Date(ms).toISOString();
}

/** the admin's extra filter, checked to be one parenthesised LDAP filter (it is theirs, not a user's) */
export function scopeFilter(scope: SyncScope, classFilter: string): string {
  const extra = scope.userFilter?.trim() ?? '';
  if (extra && !/^\(.*\)$/s.test(extra)) throw new DirectoryRefusal('other', `the sync filter must be one LDAP filter in parentheses: ${extra}`);
  let depth = 0;
  for (const ch of extra.replace(/\\./g, '')) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) throw new DirectoryRefusal('other', `unbalanced parentheses in the sync filter: ${extra}`);
  return `(&${classFilter}${extra})`;
}

async function* pagedEntries(client: Client, baseDn: string, filter: string, attributes: string[]): AsyncGenerator<Entry> {
  for await (const page of client.searchPaginated(baseDn, { scope: 'sub', filter, attributes, explicitBufferAttributes: ['objectGUID'], paged: { pageSize: PAGE_SIZE } })) {
    yield* page.searchEntries;
  }
}

export async function* adGroups(client: Client, scope: SyncScope): AsyncGenerator<DirectoryGroup> {
  for await (const entry of pagedEntries(client, scope.baseDn, '(objectClass=group)', GROUP_ATTRIBUTES)) {
    const guid = guidOf(entry);
    if (!guid) continue;
    yield {
      anchor: guidToAnchor(guid),
      dn: entry.dn,
      displayName: firstValue(entry['displayName']) ?? firstValue(entry['cn']) ?? firstValue(entry['sAMAccountName']) ?? entry.dn,
      description: firstValue(entry['description']),
    };
  }
}

/** Users under the scope; memberships resolve to the anchors of groups under the same base DN. */
export async function* adUsers(client: Client, scope: SyncScope): AsyncGenerator<DirectoryUser> {
  const groupAnchor = new Map<string, string>();
  for await (const g of adGroups(client, { baseDn: scope.baseDn, userFilter: null })) groupAnchor.set(g.dn.toLowerCase(), g.anchor);
  for await (const entry of pagedEntries(client, scope.baseDn, scopeFilter(scope, AD_USER_CLASS), USER_ATTRIBUTES)) {
    const guid = guidOf(entry);
    if (!guid) continue;
    const uac = Number(firstValue(entry['userAccountControl']) ?? '0');
    yield {
      anchor: guidToAnchor(guid),
      dn: entry.dn,
      name: firstValue(entry['sAMAccountName']) ?? entry.dn,
      userPrincipalName: firstValue(entry['userPrincipalName']),
      mail: firstValue(entry['mail']),
      displayName: firstValue(entry['displayName']),
      givenName: firstValue(entry['givenName']),
      surname: firstValue(entry['sn']),
      enabled: (uac & 2) === 0, // ACCOUNTDISABLE
      groupAnchors: allValues(entry['memberOf']).flatMap((dn) => groupAnchor.get(dn.toLowerCase()) ?? []),
      passwordHash: null,
      passwordChangedAt: fileTimeToIso(entry['pwdLastSet']),
    };
  }
}
