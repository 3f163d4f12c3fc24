/**
 * A counter bumped by every store write that can change who a principal is or what it may do:
 * users (enablement, sign-in sessions, name, deletion), role assignments, group memberships and
 * groups (role-assignable groups carry roles). src/http/auth.ts keeps a bearer token's principal for
 * a second at most and only while this counter stands still, so on this node such a change applies
 * to the very next request. The bump comes with the write, before its transaction commits: a read
 * racing the commit on PostgreSQL can keep the old state for that one second at most (SQLite's single
 * connection serialises the read behind the commit). Other nodes see a change within the second.
 */
let generation = 0;

export function principalsChanged(): void {
  generation++;
}

export function principalGeneration(): number {
  return generation;
}
