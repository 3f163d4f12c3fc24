import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { verifyAuditChain } from '../domain/audit-verify.js';
import { resolveTenant } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import { createServices } from '../services.js';
import { migrateToLatest } from '../store/migrate.js';
import type { CliIo } from './index.js';

/** A broken chain: runCli reports it on stderr and exits 1. */
export class AuditChainBroken extends Error {
  override readonly name = 'AuditChainBroken';
}

/** `postern audit verify --tenant T [--json]`: exit 0 when the chain is intact, 1 naming the first bad event. */
export function registerAuditCommands(program: Command, io: CliIo, env?: Record<string, string | undefined>): void {
  const audit = program.command('audit').description('audit log tools');
  audit
    .command('verify')
    .description("recompute a tenant's audit hash chain and report the first altered or missing event")
    .requiredOption('--tenant <tenant>', 'tenant id or domain')
    .option('--json', 'print one JSON object')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const services = createServices(loadConfig(env));
      try {
        await migrateToLatest(services.db);
        const tenant = await resolveTenant(services, opts.tenant);
        if (!tenant) throw new AppError('tenant.not_found', { message: `No tenant has the id or domain "${opts.tenant}".` });
        const result = await verifyAuditChain(services.db, tenant.id);
        if (opts.json) io.out(JSON.stringify({ tenantId: tenant.id, ...result }));
        if (result.ok) {
          if (!opts.json) {
            io.out(
              result.head
                ? `audit chain of ${tenant.displayName} (${tenant.id}) is intact: ${result.count} events, head ${result.head.seq} ${result.head.hash}`
                : `audit chain of ${tenant.displayName} (${tenant.id}) is empty`,
            );
          }
          return;
        }
        throw new AuditChainBroken(
          `audit chain of ${tenant.displayName} (${tenant.id}) is NOT intact: ${result.firstBad.problem} at seq ${result.firstBad.seq}: ${result.firstBad.detail}`,
        );
      } finally {
        await services.close();
      }
    });
}
