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
  const privileged = privilegedBindDn(c.bindDn);
  if (privileged) throw new AgentConfigError(`config file ${file}: field "bindDn": refusing ${c.bindDn}: ${privileged}; bind as a delegated service account that may only reset passwords`);
  const connection: DirectoryConnection = { url: c.url, startTls: c.startTls, caFile, bindDn: c.bindDn, bindPassword, baseDn: c.baseDn, timeoutMs: c.timeoutMs };
  try {
    assertSecureConnection(connection);
  } catch (err) {
    throw new AgentConfigError(`config file ${file}: field "url": ${err instanceof DirectoryRefusal ? err.detail : (err as Error).message}`);
  }
  return { kind: c.kind, connection, scope: { baseDn: c.baseDn, userFilter: c.userFilter }, syncIntervalMinutes: c.syncIntervalMinutes };
}

const ROOT_NAMES = new Set(['admin', 'administrator', 'manager', 'root', 'directory manager']);

/**
 * Why a bind DN names the directory's all-powerful account, or null. OpenLDAP's rootdn (by convention
 * cn=admin / cn=Manager) bypasses ppolicy, so history and quality would silently not apply (RFC 3062,
 * slapo-ppolicy); AD's Administrator (as a DN, a UPN or DOMAIN\Administrator) holds every right in
 * the domain, far more than resetting passwords. A renamed administrator is not recognised here.
 */
export function privilegedBindDn(bindDn: string): string | null {
  const dn = bindDn.trim();
  const rdn = /^(?:cn|uid)\s*=\s*((?:[^,\\]|\\.)*)/i.exec(dn);
  const name = (rdn ? rdn[1]! : dn.replace(/@.*$/, '').replace(/^.*\\/, '')).trim().toLowerCase();
  return ROOT_NAMES.has(name) ? "it names the directory's administrator account (an OpenLDAP rootdn bypasses the password policy; AD's Administrator holds every right in the domain)" : null;
}

/** How a DirectoryTarget is made from a connection; main.ts passes the real targets, tests a fake. */
export type TargetFactories = Record<AgentConfig['kind'], (conn: DirectoryConnection) => DirectoryTarget>;

export function buildTarget(config: AgentConfig, factories: TargetFactories): DirectoryTarget {
  return factories[config.kind](config.connection);
}
