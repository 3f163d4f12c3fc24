import { AGENT_HEARTBEAT_SECONDS, AGENT_LONG_POLL_MAX_SECONDS, DEFAULT_JOB_TIMEOUT_MS } from '../src/writeback/protocol.js';
import { backoffMs, ChannelError, sleep, type AgentChannel } from './channel.js';
import type { AgentLog } from './events.js';
import { JobHandler } from './jobs.js';
import { newKeyPair, publicOf, writeState, type AgentState, type StateKey } from './state.js';
import { HASH_DELTA_SECONDS, Syncer } from './sync.js';
import type { DirectoryTarget, SyncScope } from './target.js';

/**
 * The agent's loops: a heartbeat (directory reachability, version; the answer may ask for a sync),
 * N long-polling job takers, the sync schedule and key rotation. Every loop backs off with jitter on
 * network trouble and ends promptly when stop() aborts the shared signal.
 */

export interface RunnerOptions {
  version: string;
  /** heartbeat period; Postern's answer takes over unless this is set explicitly (tests) */
  heartbeatSeconds?: number;
  /** concurrent long polls (default 2): a slow directory operation does not hold up the next job */
  pollers?: number;
  /** long-poll wait asked of Postern (≤ 30 s) */
  pollWaitSeconds?: number;
  /** key rotation period (default 30 days) */
  rotateEveryHours?: number;
  syncIntervalMinutes?: number;
  hashDeltaSeconds?: number;
  /** run a full sync right after start (default true) */
  syncOnStart?: boolean;
  now?: () => Date;
}

export interface RunnerDeps {
  channel: AgentChannel;
  target: DirectoryTarget;
  log: AgentLog;
  scope: SyncScope;
  state: AgentState;
  stateFile: string;
}

/** How long a retired key is kept: well past the longest a job sealed to it can live. */
const PREVIOUS_KEY_GRACE_MS = 10 * 60_000 + DEFAULT_JOB_TIMEOUT_MS;

export class AgentRunner {
  readonly jobs: JobHandler;
  readonly sync: Syncer;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly now: () => Date;
  private heartbeatSeconds: number;
  private reachable: boolean | null = null;
  private rotating: Promise<void> | null = null;
  heartbeats = 0;
  state: AgentState;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly options: RunnerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.state = deps.state;
    this.heartbeatSeconds = options.heartbeatSeconds ?? AGENT_HEARTBEAT_SECONDS;
    deps.channel.setCredential(deps.state.credential);
    this.jobs = new JobHandler({ target: deps.target, log: deps.log, tenantId: deps.state.tenantId, keys: () => this.keys(), now: this.now });
    this.sync = new Syncer({ target: deps.target, channel: deps.channel, log: deps.log, scope: deps.scope, signal: this.abort.signal });
  }

  get channel(): AgentChannel {
    return this.deps.channel;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  start(): void {
    const o = this.options;
    this.loops.push(this.every(() => this.heartbeatSeconds * 1000, () => this.heartbeat(), 'ReportServiceHealthError', true));
    for (let i = 0; i < Math.max(1, o.pollers ?? 2); i++) this.loops.push(this.pollLoop());
    // a key announced to nobody (a crash between saving and POST /keys) is announced now
    if (this.state.current.kid === null) this.loops.push(this.rotateKeys(false).catch(() => undefined));
    this.loops.push(this.every(() => (o.syncIntervalMinutes ?? 30) * 60_000, () => this.sync.requestFull(), 'SyncFail', o.syncOnStart ?? true));
    if (this.deps.target.kind === 'openLdap') this.loops.push(this.every(() => (o.hashDeltaSeconds ?? HASH_DELTA_SECONDS) * 1000, async () => void (await this.sync.hashDelta()), 'SyncFail', false));
    this.deps.log.event('WriteBackServiceStarted', 'agent started', { agentId: this.state.agentId, version: o.version, directory: this.deps.target.kind, pollers: o.pollers ?? 2 });
  }

  /** Graceful: no new jobs are taken; a job being applied finishes and its result is sent. */
  async stop(): Promise<void> {
    if (!this.abort.signal.aborted) this.abort.abort();
    await Promise.allSettled(this.loops);
    await this.sync.idle();
    await this.rotating?.catch(() => undefined);
    this.deps.channel.close();
    await this.deps.target.close().catch(() => undefined);
    this.deps.log.event('WriteBackServiceStopped', 'agent stopped', { agentId: this.state.agentId, applied: this.jobs.applied, refused: this.jobs.refused });
  }

  /** current first: a JWE without a kid is tried with it */
  private keys(): StateKey[] {
    return this.state.previous ? [this.state.current, this.state.previous] : [this.state.current];
  }

  async heartbeat(): Promise<void> {
    const directory = await this.deps.target.checkReachable().catch((err: unknown) => ({ reachable: false, detail: (err as Error).message }));
    if (directory.reachable !== this.reachable) {
      this.reachable = directory.reachable;
      this.deps.log.event(directory.reachable ? 'DirectoryReachabilityChanged' : 'DirectoryUnreachable', directory.reachable ? 'the directory is reachable' : `the directory is unreachable: ${directory.detail}`, {});
    }
    const answer = await this.deps.channel.heartbeat({ version: this.options.version, directory: { reachable: directory.reachable, detail: directory.detail.slice(0, 500) } }, this.abort.signal);
    this.heartbeats += 1;
    if (this.options.heartbeatSeconds === undefined) this.heartbeatSeconds = answer.heartbeatSeconds;
    if (answer.syncRequested) void this.sync.requestFull();
    await this.maybeRotate();
  }

  private async maybeRotate(): Promise<void> {
    // a key saved but never announced (POST /keys failed): Postern still seals to the previous key, keep trying
    if (this.state.current.kid === null) await this.rotateKeys(false).catch(() => undefined);
    const now = this.now().getTime();
    if (this.state.current.kid !== null && this.state.previous && Date.parse(this.state.previous.dropAfter) <= now) {
      const kid = this.state.previous.kid;
      this.save({ ...this.state, previous: null });
      this.deps.log.event('PreviousKeyDropped', 'the key before the last rotation was erased', { kid });
    }
    const ageHours = (now - Date.parse(this.state.current.createdAt)) / 3_600_000;
    // a failed rotation is logged (32010) and tried again at the next heartbeat
    if (ageHours >= (this.options.rotateEveryHours ?? 24 * 30)) await this.rotateKeys().catch(() => undefined);
  }

  /**
   * New key pair: saved first (kid null), then announced; Postern seals new jobs to it from then on,
   * while the previous private key stays until jobs already sealed to it have expired.
   */
  rotateKeys(fresh = true): Promise<void> {
    this.rotating ??= (async () => {
      try {
        if (fresh) {
          const { key } = await newKeyPair(this.now());
          const dropAfter = new Date(this.now().getTime() + PREVIOUS_KEY_GRACE_MS).toISOString();
          this.save({ ...this.state, current: key, previous: this.state.current.kid === null ? this.state.previous : { ...this.state.current, dropAfter } });
        }
        const { keyId } = await this.deps.channel.addKey(publicOf(this.state.current), this.abort.signal);
        // the grace of the previous key counts from the moment Postern stopped sealing to it
        const dropAfter = new Date(this.now().getTime() + PREVIOUS_KEY_GRACE_MS).toISOString();
        this.save({ ...this.state, current: { ...this.state.current, kid: keyId }, previous: this.state.previous ? { ...this.state.previous, dropAfter } : null });
        this.deps.log.event('KeyPairCreationSuccess', 'key rotated', { kid: keyId, previousKid: this.state.previous?.kid ?? null });
      } catch (err) {
        this.deps.log.event('CryptoError', `key rotation failed; will retry at the next heartbeat: ${(err as Error).message}`, {});
        throw err;
      } finally {
        this.rotating = null;
      }
    })();
    return this.rotating;
  }

  private save(state: AgentState): void {
    writeState(this.deps.stateFile, state);
    this.state = state;
  }

  private async pollLoop(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const job = await this.deps.channel.nextJob(Math.min(AGENT_LONG_POLL_MAX_SECONDS, this.options.pollWaitSeconds ?? 25), signal);
        failures = 0;
        if (!job) continue;
        const result = await this.jobs.handle(job);
        await this.deliver(job.id, result);
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        this.report(err, 'ServiceError');
        await sleep(backoffMs(failures), signal);
      }
    }
  }

  /** A result is worth a few quick retries: the user is waiting, and the job expires in seconds. */
  private async deliver(jobId: string, result: Awaited<ReturnType<JobHandler['handle']>>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        // deliberately not tied to the stop signal: a job applied during shutdown still reports back
        await this.deps.channel.postResult(jobId, result);
        return;
      } catch (err) {
        if (!(err instanceof ChannelError) || !err.transient || attempt >= 4) throw err;
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  }

  private async every(periodMs: () => number, fn: () => Promise<void>, failEvent: 'ReportServiceHealthError' | 'SyncFail', immediately: boolean): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    if (!immediately && !(await sleep(periodMs(), signal))) return;
    while (!signal.aborted) {
      try {
        await fn();
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        this.report(err, failEvent);
        if (!(await sleep(Math.min(periodMs(), backoffMs(failures)), signal))) break;
        continue;
      }
      if (!(await sleep(periodMs(), signal))) break;
    }
  }

  private report(err: unknown, fallback: 'ServiceError' | 'ReportServiceHealthError' | 'SyncFail'): void {
    if (err instanceof ChannelError) {
      const name = err.failure === 'auth' ? 'AuthTokenError' : err.failure === 'invalid' ? 'ValidationError' : err.failure === 'server' ? 'ServiceBusWarning' : fallback;
      this.deps.log.event(name, err.message, { status: err.status, code: err.code });
    } else {
      this.deps.log.event('UnknownError', err instanceof Error ? err.message : String(err), {});
    }
  }
}
