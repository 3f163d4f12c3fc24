import { randomUUID } from 'node:crypto';
import type { SyncBatch } from '../src/writeback/protocol.js';
import type { AgentChannel } from './channel.js';
import type { AgentLog } from './events.js';
import type { DirectoryGroup, DirectoryTarget, DirectoryUser, SyncScope } from './target.js';

/**
 * Directory → Postern sync. A full run lists groups, then users, and sends them in batches of at most
 * 500 under one runId; only the last batch says final=true, and only then does Postern disable the
 * users it did not see. A run that fails half-way is never closed, so a directory outage cannot
 * disable anybody.
 *
 * For OpenLDAP, a password-hash delta every 60 s sends the users whose userPassword differs from the
 * value last sent (final=false, a runId of its own), so a changed password signs in within two minutes
 * instead of waiting for the next full run. Comparing the stored hashes rather than pwdChangedTime means
 * no clock (the agent's or the directory's, at one-second resolution) and no missing pwdChangedTime
 * (a rootdn write, an entry made before ppolicy) can hide a change.
 */

export const SYNC_BATCH_SIZE = 500;
export const HASH_DELTA_SECONDS = 60;

export interface SyncDeps {
  target: DirectoryTarget;
  channel: AgentChannel;
  log: AgentLog;
  scope: SyncScope;
  signal: AbortSignal;
}

export class Syncer {
  private running: Promise<void> | null = null;
  private again = false;
  /** anchor → the userPassword value Postern last received; null until the first full run */
  private sent: Map<string, string | null> | null = null;
  runs = 0;

  constructor(private readonly deps: SyncDeps) {}

  /** Start a full run now, or right after the one in progress. Resolves when that run is over. */
  requestFull(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.full();
        } while (this.again && !this.deps.signal.aborted);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async full(): Promise<void> {
    const { target, channel, log, scope, signal } = this.deps;
    const runId = randomUUID();
    const started = Date.now();
    log.event('SyncStart', 'full sync started', { runId, baseDn: scope.baseDn });
    const totals = { groups: 0, users: 0, created: 0, updated: 0, disabled: 0, batches: 0 };
    const seen = new Map<string, string | null>();
    try {
      let pending: SyncBatch | null = null;
      const send = async (batch: SyncBatch): Promise<void> => {
        const answer = await channel.postSync(batch, signal);
        totals.batches += 1;
        totals.created += answer.created;
        totals.updated += answer.updated;
        totals.disabled += answer.disabled;
      };
      // one batch of look-ahead, so the last one can carry final=true
      const push = async (batch: SyncBatch): Promise<void> => {
        if (pending) await send(pending);
        pending = batch;
      };
      let groups: DirectoryGroup[] = [];
      for await (const g of target.listGroups(scope)) {
        if (signal.aborted) return;
        groups.push(g);
        totals.groups += 1;
        if (groups.length === SYNC_BATCH_SIZE) {
          await push({ runId, groups, users: [], final: false });
          groups = [];
        }
      }
      if (groups.length) await push({ runId, groups, users: [], final: false });
      let users: DirectoryUser[] = [];
      for await (const u of target.listUsers(scope)) {
        if (signal.aborted) return;
        users.push(u);
        totals.users += 1;
        seen.set(u.anchor, u.passwordHash);
        if (users.length === SYNC_BATCH_SIZE) {
          await push({ runId, groups: [], users, final: false });
          users = [];
        }
      }
      if (users.length) await push({ runId, groups: [], users, final: false });
      const last: SyncBatch = pending ?? { runId, groups: [], users: [], final: true };
      await send({ ...last, final: true });
      this.runs += 1;
      this.sent = seen;
      log.event('SyncSuccess', 'full sync finished', { runId, ...totals, ms: Date.now() - started });
    } catch (err) {
      log.event('SyncFail', `full sync failed; the run was left open and nobody was disabled: ${(err as Error).message}`, { runId, ...totals });
    }
  }

  /** The OpenLDAP hash delta; a no-op before the first full run and for AD (whose hashes are not readable). */
  async hashDelta(): Promise<number> {
    const { target, channel, log, scope, signal } = this.deps;
    const sent = this.sent;
    if (target.kind !== 'openLdap' || sent === null || this.running) return 0;
    const changed: DirectoryUser[] = [];
    try {
      for await (const u of target.listUsers(scope)) {
        if (signal.aborted) return 0;
        if (sent.has(u.anchor) && sent.get(u.anchor) === u.passwordHash) continue;
        changed.push(u);
      }
      for (let i = 0; i < changed.length; i += SYNC_BATCH_SIZE) {
        const batch = changed.slice(i, i + SYNC_BATCH_SIZE);
        await channel.postSync({ runId: randomUUID(), groups: [], users: batch, final: false }, signal);
        for (const u of batch) sent.set(u.anchor, u.passwordHash);
      }
      if (changed.length) log.event('HashSyncDelta', 'password changes sent', { users: changed.length });
      return changed.length;
    } catch (err) {
      log.event('SyncFail', `hash delta failed: ${(err as Error).message}`, {});
      return 0;
    }
  }

  /** Wait for a run in progress (for a graceful stop). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
