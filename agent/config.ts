import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { assertSecureConnection } from './ldap-connect.js';
import { DirectoryRefusal, type DirectoryConnection, type DirectoryTarget, type SyncScope } from './target.js';

/**
 * The agent's directory config file (JSON). The bind password lives in its own file (bindPasswordFile)
 * so the config can be shared, reviewed and checked in without the secret. Relative paths are taken
 * from the config file's folder.
 */
export const agentConfigSchema = z
  .object({
    kind: z.enum(['activeDirectory', 'openLdap']),
    url: z.string().min(1),
    startTls: z.boolean().default(false),
    caFile: z.string().min(1).nullable().default(null),
    bindDn: z.string().min(1),
    bindPasswordFile: z.string().min(1),
    baseDn: z.string().min(1),
    userFilter: z.string().min(1).nullable().default(null),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    syncIntervalMinutes: z.number().min(0.01).max(7 * 24 * 60).default(30),
  })
  .strict();
export type AgentConfigFile = z.infer<typeof agentConfigSchema>;

export interface AgentConfig {
  kind: 'activeDirectory' | 'openLdap';
  connection: DirectoryConnection;
  scope: SyncScope;
  syncIntervalMinutes: number;
}

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

/** Reads, validates (errors name the field) and resolves the config file, including the bind password. */
export function loadAgentConfig(file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AgentConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  return parseAgentConfig(raw, file);
}

export function parseAgentConfig(raw: unknown, file: string): AgentConfig {
  const parsed = agentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `field "${i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(root)')}": ${i.message}`);
    throw new AgentConfigError(`config file ${file}: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  const base = dirname(resolve(file));
  const caFile = c.caFile === null ? null : resolve(base, c.caFile);
  const passwordFile = resolve(base, c.bindPasswordFile);
  let bindPassword: string;
  try {
    // one trailing newline (echo, editors) is not part of the password
    bindPassword = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new AgentConfigError(`config file ${file}: field "bindPasswordFile": cannot read ${passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!bindPassword) throw new AgentConfigError(`config file ${file}: field "bindPasswordFile": ${passwordFile} is empty`);
  const connection: DirectoryConnection = { url: c.url, startTls: c.startTls, caFile, bindDn: c.bindDn, bindPassword, baseDn: c.baseDn, timeoutMs: c.timeoutMs };
  try {
    assertSecureConnection(connection);
  } catch (err) {
    throw new AgentConfigError(`config file ${file}: field "url": ${err instanceof DirectoryRefusal ? err.detail : (err as Error).message}`);
  }
  return { kind: c.kind, connection, scope: { baseDn: c.baseDn, userFilter: c.userFilter }, syncIntervalMinutes: c.syncIntervalMinutes };
}

/** How a DirectoryTarget is made from a connection; main.ts passes the real targets, tests a fake. */
export type TargetFactories = Record<AgentConfig['kind'], (conn: DirectoryConnection) => DirectoryTarget>;

export function buildTarget(config: AgentConfig, factories: TargetFactories): DirectoryTarget {
  return factories[config.kind](config.connection);
}
