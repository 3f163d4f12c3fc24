import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { z } from 'zod';
import { AGENT_LONG_POLL_MAX_SECONDS, type AgentJob, type Heartbeat, type HeartbeatAnswer, type JobResult, type RegisterAnswer, type RegisterRequest, type SyncAnswer, type SyncBatch } from '../src/writeback/protocol.js';

/**
 * The agent's side of the channel (src/writeback/protocol.ts): HTTPS out to Postern, keep-alive,
 * certificate verified (against --ca-file when given). Plain http:// only for a loopback Postern (tests,
 * a sidecar); anything else would put the agent credential and sealed jobs on the wire in clear.
 * Answers are validated, so a confused or hostile server gets an error, not an undefined deep inside.
 */

export type ChannelFailure = 'network' | 'auth' | 'server' | 'client' | 'invalid';

export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  constructor(
    readonly failure: ChannelFailure,
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
  /** worth trying again later (network, 5xx, 429) */
  get transient(): boolean {
    return this.failure === 'network' || this.failure === 'server' || this.status === 429;
  }
}

const registerAnswer = z.object({
  agentId: z.string().min(1),
  tenantId: z.string().min(1),
  credential: z.string().min(16),
  keyId: z.string().min(1),
  heartbeatSeconds: z.number().int().positive(),
});
const heartbeatAnswer = z.object({ heartbeatSeconds: z.number().int().positive(), writebackEnabled: z.boolean(), syncRequested: z.boolean() });
const keyAnswer = z.object({ keyId: z.string().min(1) });
const agentJob = z.object({
  id: z.string().min(1),
  kind: z.enum(['resetPassword', 'changePassword', 'unlock', 'verifyPassword']),
  sealed: z.unknown(),
  expiresAt: z.string().min(1),
});
const syncAnswer = z.object({ created: z.number(), updated: z.number(), disabled: z.number(), groupsCreated: z.number(), groupsUpdated: z.number() });

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export interface ChannelOptions {
  /** Postern's public URL, e.g. https://postern.example.com */
  url: string;
  /** PEM of the CA that signed Postern's certificate (absent: the system store) */
  caFile?: string | null;
}

export class AgentChannel {
  readonly base: URL;
  private readonly agent: http.Agent;
  private readonly ca: Buffer | undefined;
  private credential: string | null = null;

  constructor(options: ChannelOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ChannelError('client', `--url: not a URL: ${options.url}`);
    }
    if (url.protocol === 'http:' && !(LOOPBACK.has(url.hostname) || (isIP(url.hostname) === 4 && url.hostname.startsWith('127.')))) {
      throw new ChannelError('client', `--url: refusing ${url.origin}: plain http:// is only allowed for a loopback Postern; use https://`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ChannelError('client', `--url: only https:// is supported, not ${url.protocol}`);
    this.base = url;
    this.ca = options.caFile ? readFileSync(options.caFile) : undefined;
    this.agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 8, ...(this.ca ? { ca: this.ca } : {}) }) : new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  setCredential(credential: string): void {
    this.credential = credential;
  }

  async register(req: RegisterRequest, signal?: AbortSignal): Promise<RegisterAnswer> {
    return parse(registerAnswer, (await this.call('POST', '/api/v1/agent/register', req, { signal, anonymous: true })).body, 'register');
  }

  async heartbeat(hb: Heartbeat, signal?: AbortSignal): Promise<HeartbeatAnswer> {
    return parse(heartbeatAnswer, (await this.call('POST', '/api/v1/agent/heartbeat', hb, { signal })).body, 'heartbeat');
  }

  async addKey(publicKey: RegisterRequest['publicKey'], signal?: AbortSignal): Promise<{ keyId: string }> {
    return parse(keyAnswer, (await this.call('POST', '/api/v1/agent/keys', { publicKey }, { signal })).body, 'keys');
  }

  /** Long poll: a job, or null when none arrived within `waitSeconds`. */
  async nextJob(waitSeconds: number, signal?: AbortSignal): Promise<AgentJob | null> {
    const wait = Math.max(0, Math.min(AGENT_LONG_POLL_MAX_SECONDS, Math.floor(waitSeconds)));
    const res = await this.call('GET', `/api/v1/agent/jobs?wait=${wait}`, undefined, { signal, timeoutMs: (wait + 15) * 1000 });
    if (res.status === 204) return null;
    return parse(agentJob, res.body, 'jobs');
  }

  async postResult(jobId: string, result: JobResult, signal?: AbortSignal): Promise<void> {
    await this.call('POST', `/api/v1/agent/jobs/${encodeURIComponent(jobId)}/result`, result, { signal });
  }

  async postSync(batch: SyncBatch, signal?: AbortSignal): Promise<SyncAnswer> {
    return parse(syncAnswer, (await this.call('POST', '/api/v1/agent/sync', batch, { signal, timeoutMs: 120_000 })).body, 'sync');
  }

  close(): void {
    this.agent.destroy();
  }

  private call(method: 'GET' | 'POST', path: string, body: unknown, opts: { signal?: AbortSignal | undefined; anonymous?: boolean; timeoutMs?: number }): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'postern-agent' };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(payload.length) });
    if (!opts.anonymous) {
      if (!this.credential) return Promise.reject(new ChannelError('client', 'the agent has no credential yet (not registered)'));
      headers.authorization = `Agent ${this.credential}`;
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new ChannelError('network', 'aborted'));
      const req = lib.request(url, { method, headers, agent: this.agent, timeout: opts.timeoutMs ?? 30_000, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new ChannelError('network', err.message)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          if (text) {
            try {
              json = JSON.parse(text);
            } catch {
              if (status < 300) return reject(new ChannelError('invalid', `${method} ${url.pathname}: answer is not JSON`, status));
            }
          }
          if (status >= 200 && status < 300) return resolve({ status, body: json });
          // only Postern's error code and message travel on: they never contain a secret
          const err = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
          const code = typeof err?.code === 'string' ? err.code : null;
          const message = `${method} ${url.pathname}: HTTP ${status}${code ? ` ${code}` : ''}${typeof err?.message === 'string' ? `: ${err.message.slice(0, 300)}` : ''}`;
          const failure: ChannelFailure = status === 401 || status === 403 ? 'auth' : status >= 500 ? 'server' : 'client';
          reject(new ChannelError(failure, message, status, code));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 30_000} ms`)));
      req.on('error', (err) => reject(new ChannelError('network', `${method} ${url.pathname}: ${err.message}`)));
      req.end(payload);
    });
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new ChannelError('invalid', `${what}: Postern's answer does not match the protocol: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Exponential backoff with "equal jitter": the ceiling doubles from 0.5 s to `maxMs`; wait between half of it and all of it, so restarted agents do not retry in step. */
export function backoffMs(attempt: number, maxMs = 60_000, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, 500 * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A sleep that ends early (resolving false) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    // setTimeout treats anything above 2^31-1 ms (~24.8 days) as 1 ms: clamp, never spin
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.min(ms, 2 ** 31 - 1));
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
