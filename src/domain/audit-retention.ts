import { AppError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Random, SecretBox } from '../lib/crypto.js';
import { deleteAuditEventsUpTo, findChainHead, listAuditEvents, lockAuditChain, type AuditEvent } from '../store/audit-events.js';
import { findAuditAnchor, saveAuditAnchor } from '../store/audit-retention.js';
import { deleteAuditWebhooks, insertAuditWebhook, listAuditWebhooks, updateAuditWebhook, type AuditWebhook } from '../store/audit-webhooks.js';
import type { Db } from '../store/database.js';
import { listTenantSettings } from '../store/expiry-reminders.js';
import { releaseLease, tryAcquireLease } from '../store/job-leases.js';
import { findTenantById, updateTenantSettings, type Tenant, type TenantSettings } from '../store/tenants.js';
import { GENESIS_HASH, hashAuditEvent, modified, recordAudit, type RequestContext } from './audit.js';
import { MAX_SIEM_WEBHOOKS, siemUrlProblem } from './audit-stream.js';

/**
 * Audit retention (issue 6 item 6). Each tenant keeps its events `auditRetentionDays` days (tenant
 * settings, default 365, 30–3650). A scheduled job removes older ones oldest first, in batches of one
 * transaction each. A batch, under the tenant's chain lock:
 *   1. removes the events from the chain's start through the last one older than the cutoff (at most
 *      batchSize of them, and never past an event that is not old: the removed part is always a
 *      prefix of the chain, even if clocks of several nodes disagreed; and never the newest event,
 *      which carries the head the next event links to);
 *   2. moves the tenant's anchor to the first kept event, with the hash of the last removed one, so
 *      verifyAuditChain starts there and everything kept still checks;
 *   3. records "Audit log retention" (how many, which seqs, the time span, and ChainCheck: whether the
 *      removed events were intact) — the next link of the chain. Removing a tampered range would hide
 *      the tampering from later verifies, so the event names the first bad removed event instead.
 * Safe on several nodes: the scheduler takes a database lease, and the chain lock serialises batches
 * anyway (a second run finds nothing left to remove).
 */

export const AUDIT_RETENTION_JOB = 'audit-retention';
export const DEFAULT_AUDIT_RETENTION_DAYS = 365;
export const AUDIT_RETENTION_LIMITS = { min: 30, max: 3650 } as const;
const DAY_MS = 86_400_000;
const DEFAULT_BATCH = 5000;

export interface RetentionDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly random: Random;
}

/** The tenant's retention, read like the password policy: a missing or malformed key is the default. */
export function auditRetentionDaysOf(tenant: Pick<Tenant, 'settings'>): number {
  const v = (tenant.settings as unknown as Record<string, unknown>).auditRetentionDays;
  return typeof v === 'number' && Number.isInteger(v) && v >= AUDIT_RETENTION_LIMITS.min && v <= AUDIT_RETENTION_LIMITS.max ? v : DEFAULT_AUDIT_RETENTION_DAYS;
}

export interface RetentionResult {
  removed: number;
  batches: number;
}

/** One pass over every tenant. */
export async function applyAuditRetention(deps: RetentionDeps, options: { batchSize?: number } = {}): Promise<RetentionResult> {
  const total: RetentionResult = { removed: 0, batches: 0 };
  for (const tenant of await listTenantSettings(deps.db)) {
    const r = await trimTenantAuditLog(deps, tenant.id, auditRetentionDaysOf(tenant), options.batchSize ?? DEFAULT_BATCH);
    total.removed += r.removed;
    total.batches += r.batches;
  }
  return total;
}

export async function trimTenantAuditLog(deps: RetentionDeps, tenantId: string, retentionDays: number, batchSize: number): Promise<RetentionResult> {
  const result: RetentionResult = { removed: 0, batches: 0 };
  for (;;) {
    const batch = await deps.db.transaction().execute(async (trx) => {
      await lockAuditChain(trx, tenantId);
      const now = deps.clock.now();
      const cutoff = new Date(now.getTime() - retentionDays * DAY_MS).toISOString();
      const anchor = await findAuditAnchor(trx, tenantId);
      const from = anchor?.seq ?? 1;
      const head = await findChainHead(trx, tenantId);
      if (!head || head.seq < from) return null;
      // The newest event is always kept, even when it is old: it is the chain's head, which the next
      // event (this batch's own record first) links to. The next batch or run removes it once it is not.
      const limit = Math.min(head.seq - 1, from + batchSize - 1);
      if (limit < from) return null;
      // read by seq (the chain index), cut at the first event that is not old: O(batch), whatever the log's size
      const candidates = (await listAuditEvents(trx, tenantId, from - 1, limit - from + 1)).filter((e) => e.seq <= limit);
      const firstKept = candidates.findIndex((e) => e.activityDateTime >= cutoff);
      const range = firstKept === -1 ? candidates : candidates.slice(0, firstKept);
      if (range.length === 0) return null;
      const upTo = firstKept === -1 ? limit : candidates[firstKept]!.seq - 1;
      const done = firstKept !== -1 || limit === head.seq - 1;
      const chainCheck = checkRange(range, from, upTo, anchor?.prevHash ?? GENESIS_HASH);
      const removed = await deleteAuditEventsUpTo(trx, tenantId, upTo);
      const last = range[range.length - 1]!;
      // The kept chain links to the hash of event upTo (or, if that one was already gone, of the last
      // removed event: verify then reports the break at the first kept event).
      await saveAuditAnchor(trx, {
        tenantId,
        seq: upTo + 1,
        prevHash: last.hash,
        removedCount: (anchor?.removedCount ?? 0) + removed,
        removedThrough: last.activityDateTime,
        createdAt: now.toISOString(),
      });
      const ctx: RequestContext = { principal: null, ipAddress: null, userAgent: 'postern-audit-retention', correlationId: deps.random.uuid() };
      await recordAudit(deps, trx, ctx, {
        tenantId,
        activity: 'Audit log retention',
        category: 'DirectoryManagement',
        loggedByService: 'Core Directory',
        operationType: 'Delete',
        targets: [{ id: tenantId, displayName: 'Audit log', type: 'Directory', userPrincipalName: null, modifiedProperties: [] }],
        additionalDetails: [
          { key: 'RetentionDays', value: String(retentionDays) },
          { key: 'Cutoff', value: cutoff },
          { key: 'RemovedCount', value: String(removed) },
          { key: 'RemovedFromSeq', value: String(from) },
          { key: 'RemovedThroughSeq', value: String(upTo) },
          { key: 'OldestRemoved', value: range[0]!.activityDateTime },
          { key: 'NewestRemoved', value: last.activityDateTime },
          { key: 'ChainCheck', value: chainCheck },
        ],
      });
      return { removed, done };
    });
    if (!batch) break;
    result.removed += batch.removed;
    result.batches += 1;
    if (batch.done) break;
  }
  return result;
}

/** 'ok', or the first problem of the removed events (checked like verifyAuditChain, without the explanations). */
function checkRange(events: readonly AuditEvent[], from: number, upTo: number, startHash: string): string {
  let prev = startHash;
  let seq = from;
  for (const e of events) {
    if (e.seq !== seq) return `missing event ${seq}`;
    const { hash, ...body } = e;
    if (hashAuditEvent(body) !== hash) return `altered event ${seq} (${e.id})`;
    if (e.prevHash !== prev) return `broken link at event ${seq} (${e.id})`;
    prev = hash;
    seq += 1;
  }
  return seq === upTo + 1 ? 'ok' : `missing event ${seq}`;
}

export interface RetentionScheduler {
  /** one round: take the lease (kept until it runs out, so no other node runs meanwhile), trim every tenant */
  runOnce(): Promise<{ ran: boolean } & RetentionResult>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export const AUDIT_RETENTION_INTERVAL_MS = 60 * 60_000;

export function createAuditRetentionScheduler(
  deps: RetentionDeps,
  owner: string,
  options: { leaseMs?: number; batchSize?: number } = {},
  log: { warn(obj: object, msg: string): void } = { warn: (obj, msg) => console.error(`postern: ${msg}`, obj) },
): RetentionScheduler {
  const leaseMs = options.leaseMs ?? AUDIT_RETENTION_INTERVAL_MS - 5 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const runOnce = async (): Promise<{ ran: boolean } & RetentionResult> => {
    const now = deps.clock.now();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    if (!(await tryAcquireLease(deps.db, AUDIT_RETENTION_JOB, owner, now.toISOString(), until))) return { ran: false, removed: 0, batches: 0 };
    return { ran: true, ...(await applyAuditRetention(deps, options.batchSize ? { batchSize: options.batchSize } : {})) };
  };
  return {
    runOnce,
    start(intervalMs) {
      timer = setInterval(() => {
        running = runOnce().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit retention failed'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
      await releaseLease(deps.db, AUDIT_RETENTION_JOB, owner).catch(() => undefined);
    },
  };
}

/** GET|PATCH /api/v1/policies/audit. Webhook secrets are write-only: never read back. */
export interface AuditPolicy {
  retentionDays: number;
  siemWebhooks: { id: string; url: string; createdDateTime: string }[];
}

export interface AuditPolicyPatch {
  retentionDays?: number | undefined;
  /** the full new list: an entry with an id keeps (and may change) that webhook, one without adds one; the rest are removed */
  siemWebhooks?: { id?: string | undefined; url?: string | undefined; secret?: string | undefined }[] | undefined;
}

export interface AuditPolicyDeps extends RetentionDeps {
  readonly secretBox: SecretBox;
  readonly config: { readonly nodeEnv: string };
}

export async function getAuditPolicy(deps: Pick<RetentionDeps, 'db'>, tenantId: string): Promise<AuditPolicy> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  return view(auditRetentionDaysOf(tenant), await listAuditWebhooks(deps.db, tenantId));
}

/**
 * Changes retention and/or the SIEM webhooks with one "Update audit log policy" event naming old and
 * new values (URLs, never secrets: a replaced secret is named by its webhook id only). A patch that
 * changes nothing writes and records nothing.
 */
export async function updateAuditPolicy(deps: AuditPolicyDeps, ctx: RequestContext, tenantId: string, patch: AuditPolicyPatch): Promise<AuditPolicy> {
  return deps.db.transaction().execute(async (trx) => {
    await lockAuditChain(trx, tenantId);
    const tenant = await findTenantById(trx, tenantId);
    if (!tenant) throw new AppError('tenant.not_found');
    const invalid = (why: string, field: string): AppError => new AppError('request.invalid', { message: `Invalid value for '${field}': ${why}.`, data: { field } });
    const before = auditRetentionDaysOf(tenant);
    const after = patch.retentionDays ?? before;
    if (after < AUDIT_RETENTION_LIMITS.min || after > AUDIT_RETENTION_LIMITS.max) throw invalid(`must be ${AUDIT_RETENTION_LIMITS.min} to ${AUDIT_RETENTION_LIMITS.max} days`, 'retentionDays');
    const changes = [];
    if (after !== before) {
      await updateTenantSettings(trx, tenantId, { ...(tenant.settings as TenantSettings & Record<string, unknown>), auditRetentionDays: after });
      changes.push(modified('retentionDays', before, after));
    }
    const existing = await listAuditWebhooks(trx, tenantId);
    let hooks = existing;
    if (patch.siemWebhooks !== undefined) {
      const wanted = patch.siemWebhooks;
      if (wanted.length > MAX_SIEM_WEBHOOKS) throw invalid(`at most ${MAX_SIEM_WEBHOOKS} webhooks`, 'siemWebhooks');
      const kept = new Set<string>();
      const rotated: string[] = [];
      const now = deps.clock.now().toISOString();
      for (const [i, w] of wanted.entries()) {
        const field = `siemWebhooks[${i}]`;
        const old = w.id === undefined ? undefined : existing.find((e) => e.id === w.id);
        if (w.id !== undefined && (!old || kept.has(w.id))) throw invalid(old ? 'the same webhook is listed twice' : 'no webhook of this tenant has this id', `${field}.id`);
        const url = w.url ?? old?.url;
        if (url === undefined) throw invalid('a new webhook needs a url', `${field}.url`);
        const problem = siemUrlProblem(url, deps.config.nodeEnv);
        if (problem) throw invalid(`the URL ${problem}`, `${field}.url`);
        if (!old) {
          if (w.secret === undefined) throw invalid('a new webhook needs a secret', `${field}.secret`);
          await insertAuditWebhook(trx, { id: deps.random.uuid(), tenantId, url, secretSealed: deps.secretBox.seal(w.secret), createdAt: now });
          continue;
        }
        kept.add(old.id);
        if (w.secret !== undefined) rotated.push(old.id);
        if (url !== old.url || w.secret !== undefined) {
          await updateAuditWebhook(trx, tenantId, old.id, { url, secretSealed: w.secret === undefined ? old.secretSealed : deps.secretBox.seal(w.secret) });
        }
      }
      await deleteAuditWebhooks(trx, tenantId, existing.filter((e) => !kept.has(e.id)).map((e) => e.id));
      hooks = await listAuditWebhooks(trx, tenantId);
      const urls = (list: AuditWebhook[]) => list.map((h) => ({ id: h.id, url: h.url }));
      if (JSON.stringify(urls(existing)) !== JSON.stringify(urls(hooks))) changes.push(modified('siemWebhooks', urls(existing), urls(hooks)));
      if (rotated.length > 0) changes.push(modified('siemWebhookSecretReplaced', undefined, rotated));
    }
    if (changes.length === 0) return view(before, existing);
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Update audit log policy',
      category: 'Policy',
      loggedByService: 'Core Directory',
      operationType: 'Update',
      targets: [{ id: tenantId, displayName: 'Audit log policy', type: 'Policy', userPrincipalName: null, modifiedProperties: changes }],
    });
    return view(after, hooks);
  });
}

function view(retentionDays: number, hooks: AuditWebhook[]): AuditPolicy {
  return { retentionDays, siemWebhooks: hooks.map((h) => ({ id: h.id, url: h.url, createdDateTime: h.createdAt })) };
}
