import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { resolveTenant } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import { createServices } from '../services.js';
import { migrateToLatest } from '../store/migrate.js';
import { createAgentRegistrationToken } from '../writeback/registration.js';
import type { CliIo } from './index.js';

/**
 * `postern agent register --tenant T [--json]` prints a one-time registration token (server side);
 * `postern agent --url U --token-file F --config C [--ca-file P] [--state-file S]` runs the on-premises
 * agent until SIGTERM / SIGINT (it needs no database and no server config).
 */
export function registerAgentCommands(program: Command, io: CliIo, env?: Record<string, string | undefined>, signal?: AbortSignal): void {
  const agent = program
    .command('agent')
    .description('run the on-premises writeback agent, or (agent register) make a registration token')
    .option('--url <url>', "Postern's URL (https://; http:// only for a loopback Postern)")
    .option('--token-file <file>', 'file with the one-time registration token; overwritten once spent')
    .option('--config <file>', 'the directory config file (JSON)')
    .option('--ca-file <file>', "PEM of the CA that signed Postern's certificate")
    .option('--state-file <file>', 'where the agent keeps its identity and keys (default <token-file>.state.json)')
    .action(async (opts: { url?: string; tokenFile?: string; config?: string; caFile?: string; stateFile?: string }) => {
      const missing = (['url', 'tokenFile', 'config'] as const).filter((k) => !opts[k]).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      if (missing.length) throw new AppError('request.invalid', { message: `postern agent needs ${missing.join(', ')}` });
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      signal?.addEventListener('abort', onSignal, { once: true });
      try {
        // loaded on demand: `serve` and the other commands need neither the agent nor its LDAP client
        const { runAgent } = await import('../../agent/main.js');
        await runAgent({ url: opts.url!, tokenFile: opts.tokenFile!, config: opts.config!, caFile: opts.caFile ?? null, ...(opts.stateFile ? { stateFile: opts.stateFile } : {}) }, stop.signal);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });

  agent
    .command('register')
    .description('print a one-time token an agent registers with (valid 24 hours)')
    .requiredOption('--tenant <tenant>', 'tenant id or domain')
    .option('--json', 'print one JSON object')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const services = createServices(loadConfig(env));
      try {
        await migrateToLatest(services.db);
        const tenant = await resolveTenant(services, opts.tenant);
        if (!tenant) throw new AppError('tenant.not_found', { message: `No tenant has the id or domain "${opts.tenant}".` });
        const { token, expiresAt } = await createAgentRegistrationToken(services, tenant.id);
        const result = { tenantId: tenant.id, token, expiresAt };
        io.out(
          opts.json
            ? JSON.stringify(result)
            : [`tenant:  ${tenant.id}`, `token:   ${token}`, `expires: ${expiresAt}`, 'Put the token in a file only the agent can read and start it with:', '  postern agent --url <Postern URL> --token-file <file> --config <directory config>'].join('\n'),
        );
      } finally {
        await services.close();
      }
    });
}
