import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { parseExpectHead, verifyAuditChain } from '../domain/audit-verify.js';
import { resolveTenant } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import { createServices } from '../services.js';
import { migrateToLatest } from '../store/migrate.js';
import type { CliIo } from './index.js';

/** A broken chain: runCli reports it on stderr and exits 1. */
export class AuditChainBroken extends Error {
  override readonly name = 'AuditChainBroken';
}

/**
 * `postern audit verify --tenant T [--expect-head SEQ:HASH] [--json]`: exit 0 when the chain is intact
 * (and still reaches the expected head), 1 naming the first bad event. Keep the printed head
 * elsewhere and pass it back next time: deleting the newest events is only found that way.
 */
export function registerAuditCommands(program: Command, io: CliIo, env?: Record<string, string | undefined>): void {
  const audit = program.command('audit').description('audit log tools');
  audit
    .command('verify')
    .description("recompute a tenant's audit hash chain and report the first altered or missing event")
    .requiredOption('--tenant <tenant>', 'tenant id or domain')
    .option('--expect-head <seq:hash>', 'a head reported by an earlier verify: report truncation if the chain no longer reaches it')
    .option('--json', 'print one JSON object')
    .action(async (opts: { tenant: string; expectHead?: string; json?: boolean }) => {
      const expectHead = opts.expectHead === undefined ? undefined : parseExpectHead(opts.expectHead);
      if (expectHead === null) throw new AppError('request.invalid', { message: '--expect-head must be SEQ:HASH (a sequence number, a colon and 64 hex digits), as verify prints the head.' });
      const services = createServices(loadConfig(env));
      try {
        await migrateToLatest(services.db);
        const tenant = await resolveTenant(services, opts.tenant);
        if (!tenant) throw new AppError('tenant.not_found', { message: `No tenant has the id or domain "${opts.tenant}".` });
        const result = await verifyAuditChain(services.db, tenant.id, expectHead ? { expectHead } : {});
        if (opts.json) io.out(JSON.stringify({ tenantId: tenant.id, ...result }));
        if (result.ok) {
          if (!opts.json) {
            io.out(
              result.head
                ? `audit chain of ${tenant.displayName} (${tenant.id}) is intact: ${result.count} events, head ${result.head.seq}:${result.head.hash}` +
                    (result.start ? ` (from event ${result.start.seq}: ${result.start.removedCount} older events removed by retention)` : '')
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
