import { dailyCountKeyOf, dailyFacetsOf } from './audit-counts.js';
import { incrementDailyFacet, type DailyCountKey } from '../store/audit-counts.js';
import { findChainHead, insertAuditEvents, type AuditEvent } from '../store/audit-events.js';
import { listAuditWebhookIds } from '../store/audit-webhooks.js';
import type { Executor } from '../store/database.js';
import { addDailyCount } from '../store/directory-sync.js';
import { chainedEvent, type AuditDeps, type AuditInput, type RequestContext } from './audit.js';
import { streamAuditEvent } from './audit-stream.js';

/**
 * The audit events of one sync batch, written together at its end: the same events, hash chain,
 * daily counts and SIEM stream as recordAudit (src/domain/audit.ts) writes one by one, but the
 * chain head is read once, the rows go in multi-row inserts, the daily counts are added per kind rather than per event, and the
 * webhook list is read once. A first import of 1,000 users is 1,000 events; this keeps it a few
 * seconds on PostgreSQL. The caller holds the tenant's chain lock (lockAuditChain) for the batch.
 */
export class SyncAuditLog {
  private readonly inputs: AuditInput[] = [];

  add(input: AuditInput): void {
    this.inputs.push(input);
  }

  async flush(deps: AuditDeps, trx: Executor, ctx: RequestContext): Promise<void> {
    if (this.inputs.length === 0) return;
    const tenantId = this.inputs[0]!.tenantId;
    const head = await findChainHead(trx, tenantId);
    let prev: { seq: number; hash: string } | undefined = head;
    const at = deps.clock.now().toISOString();
    const events: AuditEvent[] = [];
    for (const input of this.inputs) {
      const event = chainedEvent(deps, ctx, { ...input, tenantId }, prev, at);
      prev = event;
      events.push(event);
    }
    await insertAuditEvents(trx, events);

    const counts = new Map<string, { key: DailyCountKey; n: number }>();
    for (const e of events) {
      const key = dailyCountKeyOf(e);
      const id = JSON.stringify(key);
      const entry = counts.get(id);
      if (entry) entry.n += 1;
      else counts.set(id, { key, n: 1 });
      for (const f of dailyFacetsOf(e)) await incrementDailyFacet(trx, f);
    }
    for (const { key, n } of counts.values()) await addDailyCount(trx, key, n);

    if ((await listAuditWebhookIds(trx, tenantId)).length > 0) {
      for (const e of events) await streamAuditEvent(deps, trx, e);
    }
    this.inputs.length = 0;
  }
}
