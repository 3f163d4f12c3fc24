import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { createApplication } from '../domain/applications.js';
import { createTenant, resolveTenant, systemContext } from '../domain/tenants.js';
import { createServices, type Services } from '../services.js';
import { migrateToLatest } from '../store/migrate.js';
import { registerAgentCommands } from './agent.js';
import { registerAuditCommands } from './audit.js';
import { serve } from './serve.js';

/** Output seam so tests can run the CLI in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** Runs the CLI; resolves to the exit code. `serve` resolves only when the server stops. */
export async function runCli(argv: string[], io: CliIo = processIo, env?: Record<string, string | undefined>): Promise<number> {
  const program = new Command('postern')
    .description('Postern: self-hosted cloud directory for password management')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  let exitCode = 0;
  const withServices = async (fn: (s: Services) => Promise<void>): Promise<void> => {
    const services = createServices(loadConfig(env));
    try {
      await migrateToLatest(services.db);
      await fn(services);
    } finally {
      await services.close();
    }
  };

  program
    .command('serve')
    .description('apply migrations, bootstrap an empty database, and serve HTTP')
    .action(async () => {
      await serve(loadConfig(env), io);
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const services = createServices(loadConfig(env));
      try {
        const applied = await migrateToLatest(services.db);
        io.out(opts.json ? JSON.stringify({ applied }) : applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await services.close();
      }
    });

  const tenant = program.command('tenant').description('manage tenants');
  tenant
    .command('create')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--domain <domain>', 'the verified domain users sign in with')
    .requiredOption('--admin <upn>', 'UPN of the first Global Administrator')
    .option('--admin-password <password>', 'the admin password (default: a one-time password is printed)')
    .option('--edition <edition>', 'free | basic | premium', 'premium')
    .option('--json', 'print one JSON object')
    .action(async (opts: { name: string; domain: string; admin: string; adminPassword?: string; edition: string; json?: boolean }) => {
      if (!['free', 'basic', 'premium'].includes(opts.edition)) throw new AppError('request.invalid', { message: `--edition must be free, basic or premium, not "${opts.edition}".` });
      await withServices(async (s) => {
        const r = await createTenant(s, systemContext(s), {
          name: opts.name,
          domain: opts.domain,
          adminUpn: opts.admin,
          adminPassword: opts.adminPassword,
          edition: opts.edition as 'free' | 'basic' | 'premium',
        });
        const result = {
          tenantId: r.tenant.id,
          name: r.tenant.displayName,
          domain: opts.domain.toLowerCase(),
          edition: r.tenant.edition,
          admin: r.admin.userPrincipalName,
          ...(r.oneTimePassword ? { adminOneTimePassword: r.oneTimePassword } : {}),
        };
        io.out(opts.json ? JSON.stringify(result) : Object.entries(result).map(([k, v]) => `${k}: ${v}`).join('\n'));
      });
    });

  const app = program.command('app').description('manage app registrations');
  app
    .command('create')
    .requiredOption('--tenant <tenant>', 'tenant id or domain')
    .requiredOption('--name <name>', 'display name')
    .option('--permissions <list>', 'comma-separated Graph application permissions', '')
    .option('--public', 'a public client (no secret; may use the password grant)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { tenant: string; name: string; permissions: string; public?: boolean; json?: boolean }) => {
      await withServices(async (s) => {
        const t = await resolveTenant(s, opts.tenant);
        if (!t) throw new AppError('tenant.not_found', { message: `No tenant has the id or domain "${opts.tenant}".` });
        const permissions = opts.permissions.split(',').map((p) => p.trim()).filter(Boolean);
        const r = await createApplication(s, systemContext(s), { tenantId: t.id, name: opts.name, permissions, isPublic: opts.public ?? false });
        const result = {
          tenantId: t.id,
          clientId: r.application.clientId,
          ...(r.clientSecret ? { clientSecret: r.clientSecret } : {}),
          permissions: r.application.permissions,
          tokenEndpoint: `${s.config.publicUrl}/${t.id}/oauth2/v2.0/token`,
        };
        io.out(opts.json ? JSON.stringify(result) : Object.entries(result).map(([k, v]) => `${k}: ${String(v)}`).join('\n'));
      });
    });

  registerAuditCommands(program, io, env);
  registerAgentCommands(program, io, env);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitCode = reportError(err, io);
  }
  return exitCode;
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof ConfigError) io.err(err.message);
  else if (err instanceof AppError) io.err(`error ${err.code}: ${err.message}`);
  else io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}
