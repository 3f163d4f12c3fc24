import { listAuditEvents, type AuditEvent } from '../store/audit-events.js';
import { findAuditAnchor } from '../store/audit-retention.js';
import type { Executor } from '../store/database.js';
import { GENESIS_HASH, hashAuditEvent } from './audit.js';

/**
 * - `altered`: the event's fields no longer hash to its stored hash, or it was rewritten and its hash
 *   recomputed (the next event still links to the old hash; named when that next event is checked);
 * - `missing`: a sequence number is skipped (a row was deleted);
 * - `renumbered`: an intact event sits at another seq than the one it was hashed with, i.e. rows
 *   before it were deleted and the rest moved down to hide the gap (the event named is the moved one);
 * - `inserted`: the event is not part of the original chain: forged in the middle (later events were
 *   moved up to make room) or appended at the end with a link to nothing;
 * - `broken-link`: an intact event that links to neither neighbour (rewritten in place with its hash
 *   recomputed, or forged), or whose link fits nothing we can explain more precisely;
 * - `truncated`: the chain ends before the expected head (the newest events were deleted);
 * - `diverged`: the event at the expected head's seq is not the expected one (the chain was
 *   rewritten from some point on, every hash recomputed).
 */
export type ChainProblem = 'altered' | 'missing' | 'renumbered' | 'inserted' | 'broken-link' | 'truncated' | 'diverged';

export interface ChainHead {
  seq: number;
  id: string;
  hash: string;
}

/** Present when retention removed the oldest events: the chain is checked from its anchor. */
export interface ChainStart {
  /** the first event the chain is checked from */
  seq: number;
  removedCount: number;
  removedThrough: string | null;
}

export type ChainVerification =
  | { ok: true; count: number; head: ChainHead | null; start?: ChainStart; expectedHead?: 'matched' | 'removed-by-retention' }
  | {
      ok: false;
      /** events checked before the first bad one */
      count: number;
      start?: ChainStart;
      firstBad: {
        /** position in the chain where the problem is */
        seq: number;
        /** the event at that position; null when the event is missing */
        id: string | null;
        problem: ChainProblem;
        detail: string;
      };
    };

export interface VerifyOptions {
  /** a head reported by an earlier verify and kept elsewhere: the chain must still reach it */
  expectHead?: { seq: number; hash: string };
}

/** "SEQ:HASH" as verify prints a head; null when malformed. */
export function parseExpectHead(text: string): { seq: number; hash: string } | null {
  const m = /^([1-9][0-9]{0,14}):([0-9a-f]{64})$/.exec(text.trim().toLowerCase());
  return m ? { seq: Number(m[1]), hash: m[2]! } : null;
}

const PAGE = 1000;
/** recent events kept to explain a bad event (which earlier event it really links to) */
const WINDOW = 2000;
/** how far a renumbered event is searched for from its current seq */
const MAX_SHIFT = 1000;

type Bad = Extract<ChainVerification, { ok: false }>['firstBad'];

/**
 * Walks a tenant's audit events in chain order from its retention anchor (or seq 1 and the genesis
 * hash) and recomputes every hash and link, naming the first bad event.
 *
 * What it cannot detect on its own:
 * - deleting the newest events: the rest is a shorter but valid chain. Keep the head each verify
 *   reports somewhere else and pass it back as expectHead: the walk then reports `truncated`;
 * - rewriting every event from some point up to the head with recomputed hashes (the chain is not
 *   keyed: whoever can write the table can compute SHA-256). expectHead catches this too when the
 *   rewrite reaches back to the kept head (`diverged`); events appended after the kept head with
 *   valid hashes cannot be told from real ones — stream events to a SIEM for an outside copy;
 * - forging the anchor row together with the events it vouches for.
 */
export async function verifyAuditChain(db: Executor, tenantId: string, options: VerifyOptions = {}): Promise<ChainVerification> {
  const anchor = await findAuditAnchor(db, tenantId);
  const start: ChainStart = { seq: anchor?.seq ?? 1, removedCount: anchor?.removedCount ?? 0, removedThrough: anchor?.removedThrough ?? null };
  const startField = anchor ? { start } : {};
  const expect = options.expectHead;
  let expectedSeq = start.seq;
  let prevHash = anchor?.prevHash ?? GENESIS_HASH;
  let count = 0;
  let head: ChainHead | null = null;
  const recent: ChainHead[] = [];
  const fail = (firstBad: Bad): ChainVerification => ({ ok: false, count, ...startField, firstBad });

  if (expect && expect.seq < start.seq - 1) {
    // the expected head was removed by retention since: the walk cannot compare it
  } else if (expect && expect.seq === start.seq - 1 && expect.hash !== prevHash) {
    return fail({ seq: expect.seq, id: null, problem: 'diverged', detail: `the anchor says event ${expect.seq} had hash ${prevHash}, not the expected ${expect.hash}` });
  }

  for (;;) {
    // one more than a page, so the walk knows whether an event is the newest
    const fetched = await listAuditEvents(db, tenantId, expectedSeq - 1, PAGE + 1);
    const page = fetched.slice(0, PAGE);
    for (let i = 0; i < page.length; i++) {
      const event = page[i]!;
      const isLast = i === fetched.length - 1;
      const bad = checkEvent(event, fetched[i + 1], expectedSeq, prevHash, recent, isLast, start.seq);
      if (bad) {
        // an explanation that points at an earlier event (inserted/altered there) counts only the events before it
        count = Math.max(0, count - (expectedSeq - bad.seq));
        return fail(bad);
      }
      if (expect && event.seq === expect.seq && event.hash !== expect.hash) {
        return fail({ seq: event.seq, id: event.id, problem: 'diverged', detail: `event ${event.seq} (${event.id}) is not the expected head: its hash is ${event.hash}, not ${expect.hash}; the chain was rewritten up to here` });
      }
      prevHash = event.hash;
      head = { seq: event.seq, id: event.id, hash: event.hash };
      recent.push(head);
      if (recent.length > WINDOW) recent.shift();
      expectedSeq += 1;
      count += 1;
    }
    if (fetched.length <= PAGE) break;
  }
  if (expect && expect.seq >= start.seq && expect.seq > (head?.seq ?? start.seq - 1)) {
    const end = head?.seq ?? start.seq - 1;
    return fail({ seq: end + 1, id: null, problem: 'truncated', detail: `the chain ends at event ${end} but reached ${expect.seq} before: events ${end + 1} to ${expect.seq} (at least) were deleted` });
  }
  const expectedHead = expect ? (expect.seq < start.seq - 1 ? 'removed-by-retention' : 'matched') : undefined;
  return { ok: true, count, head, ...startField, ...(expectedHead ? { expectedHead } : {}) };
}

function rehashAt(event: AuditEvent, seq: number): string {
  const { hash: _hash, ...body } = event;
  return hashAuditEvent({ ...body, seq });
}

function checkEvent(event: AuditEvent, next: AuditEvent | undefined, expectedSeq: number, prevHash: string, recent: readonly ChainHead[], isLast: boolean, startSeq: number): Bad | null {
  const label = `event ${event.seq} (${event.id}, "${event.activityDisplayName}")`;
  if (event.seq !== expectedSeq) {
    return { seq: expectedSeq, id: null, problem: 'missing', detail: `event ${expectedSeq} is missing: the chain jumps from ${expectedSeq - 1} to ${event.seq} (event ${event.id})` };
  }
  const linkedTo = recent.find((r) => r.hash === event.prevHash);
  if (rehashAt(event, event.seq) !== event.hash) {
    // Intact at another seq? Then it was moved: up (rows inserted before it) or down (rows deleted).
    if (linkedTo && linkedTo.seq + 1 < event.seq && rehashAt(event, linkedTo.seq + 1) === event.hash) {
      const first = recent.find((r) => r.seq === linkedTo.seq + 1);
      return {
        seq: linkedTo.seq + 1,
        id: first?.id ?? null,
        problem: 'inserted',
        detail: `event ${linkedTo.seq + 1}${first ? ` (${first.id})` : ''} was inserted: ${label} was hashed as event ${linkedTo.seq + 1} and moved up ${event.seq - linkedTo.seq - 1} place(s) to make room`,
      };
    }
    for (let s = event.seq + 1; s <= event.seq + MAX_SHIFT; s++) {
      if (rehashAt(event, s) === event.hash) {
        return {
          seq: event.seq,
          id: event.id,
          problem: 'renumbered',
          detail: `${label} was hashed as event ${s}: events ${event.seq} to ${s - 1} of the original chain (${s - event.seq}) were deleted and the rest renumbered`,
        };
      }
    }
    for (let s = event.seq - 1; s >= Math.max(startSeq, event.seq - MAX_SHIFT); s--) {
      if (rehashAt(event, s) === event.hash) {
        const first = recent.find((r) => r.seq === s);
        return { seq: s, id: first?.id ?? null, problem: 'inserted', detail: `event ${s}${first ? ` (${first.id})` : ''} was inserted: ${label} was hashed as event ${s} and moved up` };
      }
    }
    return { seq: event.seq, id: event.id, problem: 'altered', detail: `${label} was altered: its content no longer matches its hash` };
  }
  if (event.prevHash === prevHash) return null;
  // An intact event that links to the wrong place.
  if (linkedTo && linkedTo.seq + 1 < event.seq) {
    const first = recent.find((r) => r.seq === linkedTo.seq + 1);
    return {
      seq: linkedTo.seq + 1,
      id: first?.id ?? null,
      problem: 'inserted',
      detail: `event ${linkedTo.seq + 1}${first ? ` (${first.id})` : ''} was inserted: ${label} links to event ${linkedTo.seq}, so events ${linkedTo.seq + 1} to ${event.seq - 1} are not part of the chain`,
    };
  }
  if (isLast) {
    return { seq: event.seq, id: event.id, problem: 'inserted', detail: `${label} was inserted: it is the newest event but links to no event of the chain (forged, with its own hash)` };
  }
  // Links in and out both broken: this event was rewritten (hash recomputed) or forged in place.
  // Only the link in: the event before it was rewritten with its hash recomputed.
  const previous = recent[recent.length - 1];
  if (previous && previous.seq === event.seq - 1 && next && next.seq === event.seq + 1 && next.prevHash === event.hash) {
    return {
      seq: previous.seq,
      id: previous.id,
      problem: 'altered',
      detail: `event ${previous.seq} (${previous.id}) was rewritten and its hash recomputed: ${label} still links to its original hash (or ${label} was forged)`,
    };
  }
  return {
    seq: event.seq,
    id: event.id,
    problem: 'broken-link',
    detail: `${label} does not link to the ${event.seq === startSeq ? 'start of the chain' : `hash of event ${event.seq - 1}`}${next && next.prevHash !== event.hash ? ' and the next event does not link to it: it was rewritten with its hash recomputed, or forged' : ''}`,
  };
}
