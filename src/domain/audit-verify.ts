import { listAuditEvents } from '../store/audit-events.js';
import type { Executor } from '../store/database.js';
import { GENESIS_HASH, hashAuditEvent } from './audit.js';

export type ChainProblem = 'altered' | 'missing' | 'broken-link';

export type ChainVerification =
  | { ok: true; count: number; head: { seq: number; id: string; hash: string } | null }
  | {
      ok: false;
      /** events checked before the first bad one */
      count: number;
      firstBad: {
        /** position in the chain where the problem is */
        seq: number;
        /** the event at that position; null when the event is missing */
        id: string | null;
        problem: ChainProblem;
        detail: string;
      };
    };

const PAGE = 1000;

/**
 * Walks a tenant's audit events in chain order and recomputes every hash:
 * - `altered`: the row's fields no longer hash to its stored hash (someone edited it);
 * - `missing`: a sequence number is skipped (someone deleted a row);
 * - `broken-link`: a row is intact but does not point at the hash of the one before it
 *   (rows were deleted and the rest renumbered, or a row was forged with its own hash).
 * Deleting the newest events leaves a shorter but valid chain; keep the reported head
 * somewhere else (a ticket, a log) to catch that.
 */
export async function verifyAuditChain(db: Executor, tenantId: string): Promise<ChainVerification> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  let head: { seq: number; id: string; hash: string } | null = null;
  for (;;) {
    const page = await listAuditEvents(db, tenantId, expectedSeq - 1, PAGE);
    for (const event of page) {
      if (event.seq !== expectedSeq) {
        return {
          ok: false,
          count,
          firstBad: {
            seq: expectedSeq,
            id: null,
            problem: 'missing',
            detail: `event ${expectedSeq} is missing: the chain jumps from ${expectedSeq - 1} to ${event.seq} (event ${event.id})`,
          },
        };
      }
      const { hash, ...body } = event;
      if (hashAuditEvent(body) !== hash) {
        return {
          ok: false,
          count,
          firstBad: { seq: event.seq, id: event.id, problem: 'altered', detail: `event ${event.seq} (${event.id}, "${event.activityDisplayName}") was altered: its content no longer matches its hash` },
        };
      }
      if (event.prevHash !== prevHash) {
        return {
          ok: false,
          count,
          firstBad: { seq: event.seq, id: event.id, problem: 'broken-link', detail: `event ${event.seq} (${event.id}) does not link to the hash of event ${event.seq - 1}` },
        };
      }
      prevHash = hash;
      head = { seq: event.seq, id: event.id, hash };
      expectedSeq += 1;
      count += 1;
    }
    if (page.length < PAGE) return { ok: true, count, head };
  }
}
