import type { DirectoryGroup, DirectoryTarget, DirectoryUser, RefusalReason, UserRef } from '../../agent/target.js';
import { DirectoryRefusal } from '../../agent/target.js';

export interface FakeCall {
  op: 'reset' | 'change' | 'unlock' | 'verify';
  user: UserRef;
  newPassword?: string;
  oldPassword?: string;
  password?: string;
  mustChange?: boolean;
  unlock?: boolean;
}

/** The edge of the agent tests: a directory in memory that records every write and refuses on demand. */
export class FakeDirectory implements DirectoryTarget {
  readonly kind: 'activeDirectory' | 'openLdap';
  readonly calls: FakeCall[] = [];
  /** user name → the refusal the next operations on it get */
  readonly refusals = new Map<string, [RefusalReason, string]>();
  users: DirectoryUser[] = [];
  groups: DirectoryGroup[] = [];
  reachable = true;
  closed = false;

  constructor(kind: 'activeDirectory' | 'openLdap' = 'activeDirectory') {
    this.kind = kind;
  }

  private check(user: UserRef): void {
    const r = this.refusals.get(user.name);
    if (r) throw new DirectoryRefusal(r[0], r[1]);
  }

  async resetPassword(user: UserRef, newPassword: string, opts: { mustChange: boolean; unlock: boolean }): Promise<void> {
    this.check(user);
    this.calls.push({ op: 'reset', user, newPassword, ...opts });
  }
  async changePassword(user: UserRef, oldPassword: string, newPassword: string): Promise<void> {
    this.check(user);
    this.calls.push({ op: 'change', user, oldPassword, newPassword });
  }
  async unlock(user: UserRef): Promise<void> {
    this.check(user);
    this.calls.push({ op: 'unlock', user });
  }
  async verifyPassword(user: UserRef, password: string): Promise<void> {
    this.check(user);
    this.calls.push({ op: 'verify', user, password });
  }
  async effectivePolicy(): Promise<never> {
    throw new DirectoryRefusal('other', 'not in the fake');
  }
  async checkReachable(): Promise<{ reachable: boolean; detail: string }> {
    return { reachable: this.reachable, detail: this.reachable ? 'bound as the fake service account' : 'fake: connection refused' };
  }
  async *listUsers(): AsyncIterable<DirectoryUser> {
    for (const u of this.users) yield u;
  }
  async *listGroups(): AsyncIterable<DirectoryGroup> {
    for (const g of this.groups) yield g;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export function fakeUser(i: number, extra: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    anchor: `anchor-${i}`,
    dn: `uid=sync${i},ou=people,dc=example,dc=test`,
    name: `sync${i}`,
    userPrincipalName: `sync${i}@contoso.test`,
    mail: null,
    displayName: `Sync ${i}`,
    givenName: null,
    surname: null,
    enabled: true,
    groupAnchors: [],
    passwordHash: null,
    passwordChangedAt: null,
    ...extra,
  };
}
