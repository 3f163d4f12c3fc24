import { existsSync } from 'node:fs';
import { z } from 'zod';

/**
 * The one reader of process.env. Everything else receives a frozen Config.
 * A `.env` file in the working directory is read when present (values already in the environment win).
 */

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .default('http://localhost:8080')
    .transform((u) => u.replace(/\/+$/, '')),
  DATABASE_URL: z
    .string()
    .default('sqlite:./data/postern.db')
    .refine((v) => /^(sqlite:|postgres(ql)?:\/\/)/.test(v), 'must start with sqlite: or postgres://'),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().optional(),
  SMS_WEBHOOK_URL: z.url().optional(),
  VOICE_WEBHOOK_URL: z.url().optional(),
  POSTERN_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  POSTERN_DATA_DIR: z.string().default('./data'),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).max(4_194_304).default(19456),
  ARGON2_ITERATIONS: z.coerce.number().int().min(1).max(100).default(2),
  ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(64 * 1024),
  SSPR_SMS_PER_IP_PER_HOUR: z.coerce.number().int().min(0).max(1_000_000).default(20),
  SSPR_SMS_PER_PREFIX_PER_HOUR: z.coerce.number().int().min(0).max(1_000_000).default(200),
  SSPR_MIN_RESPONSE_MS: z.coerce.number().int().min(0).max(5000).default(300),
  WRITEBACK_JOB_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SYNC_DISABLE_THRESHOLD: z.coerce.number().int().min(0).max(10_000_000).default(500),
  HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(300).default(50),
  ACCESS_TOKEN_ALG: z.enum(['ES256', 'RS256']).default('ES256'),
  WEB_DIR: z.string().optional(),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly databaseUrl: string;
  readonly dataDir: string;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string | undefined;
  readonly smsWebhookUrl: string | undefined;
  readonly voiceWebhookUrl: string | undefined;
  /** Unset means "read or generate `<dataDir>/secret.key`" (done by services.ts, not here). */
  readonly secretKey: string | undefined;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly trustProxy: boolean;
  readonly logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  readonly nodeEnv: z.infer<typeof schema>['NODE_ENV'];
  readonly argon2: { readonly memoryCost: number; readonly timeCost: number; readonly parallelism: number };
  readonly bodyLimitBytes: number;
  /** texts and calls self-service reset may send per hour, per client address and per country calling code */
  readonly ssprSmsBudget: { readonly perIp: number; readonly perPrefix: number };
  /** the least time any answer about a reset flow takes (0 = no floor), against timing-based account discovery */
  readonly ssprMinResponseMs: number;
  /** how long an interactive writeback operation waits for an agent before SSPR_0030 (default 10 s) */
  readonly writebackJobTimeoutMs: number;
  /** a directory sync run disabling more users than this disables nobody (accidental-delete prevention) */
  readonly syncDisableThreshold: number;
  /** V8 grows the old generation to (1 + this/100) × the live heap before a full collection; 0 = V8's own (up to 4×) */
  readonly heapGrowthPercent: number;
  /** what access tokens are signed with (ID tokens are always RS256) */
  readonly accessTokenAlg: 'ES256' | 'RS256';
  /** the built portals (Vite's output); unset = dist/web of this installation */
  readonly webDir: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses and validates the environment once. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = readEnvironment()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('invalid configuration:\n  TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  if (e.SMTP_URL) {
    if (!/^smtps?:\/\/[^/]/i.test(e.SMTP_URL)) throw new ConfigError('invalid configuration:\n  SMTP_URL: must be an smtp:// or smtps:// URL');
    if (!e.MAIL_FROM?.trim()) throw new ConfigError('invalid configuration:\n  MAIL_FROM: required when SMTP_URL is set');
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.POSTERN_DATA_DIR,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    smsWebhookUrl: e.SMS_WEBHOOK_URL,
    voiceWebhookUrl: e.VOICE_WEBHOOK_URL,
    secretKey: e.POSTERN_SECRET_KEY,
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : undefined,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    nodeEnv: e.NODE_ENV,
    argon2: { memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_ITERATIONS, parallelism: e.ARGON2_PARALLELISM },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    ssprSmsBudget: { perIp: e.SSPR_SMS_PER_IP_PER_HOUR, perPrefix: e.SSPR_SMS_PER_PREFIX_PER_HOUR },
    ssprMinResponseMs: e.SSPR_MIN_RESPONSE_MS,
    writebackJobTimeoutMs: e.WRITEBACK_JOB_TIMEOUT_MS,
    syncDisableThreshold: e.SYNC_DISABLE_THRESHOLD,
    heapGrowthPercent: e.HEAP_GROWTH_PERCENT,
    accessTokenAlg: e.ACCESS_TOKEN_ALG,
    webDir: e.WEB_DIR,
  });
}

function readEnvironment(): Record<string, string | undefined> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}
