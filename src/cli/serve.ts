import type { Config } from '../config.js';
import { createOutboxWorker } from '../delivery/outbox-worker.js';
import { createReminderScheduler } from '../domain/expiry-reminders.js';
import { startWritebackSweeper } from '../writeback/retry.js';
import { AUDIT_RETENTION_INTERVAL_MS, createAuditRetentionScheduler } from '../domain/audit-retention.js';
import { HOUSEKEEPING_INTERVAL_MS, sweepExpired } from '../domain/housekeeping.js';
import { hostname } from 'node:os';
import { applyHeapGrowth } from '../lib/heap.js';
import { bootstrapIfEmpty } from '../domain/tenants.js';
import { createApp } from '../http/app.js';
import { createServices } from '../services.js';
import { migrateToLatest } from '../store/migrate.js';
import type { CliIo } from './index.js';

/** migrate → bootstrap an empty database (printing the admin's one-time password once) → listen. */
export async function serve(config: Config, io: CliIo): Promise<void> {
  applyHeapGrowth(config.heapGrowthPercent);
  const services = createServices(config);
  await migrateToLatest(services.db);
  const created = await bootstrapIfEmpty(services);
  if (created?.oneTimePassword) {
    io.out(
      [
        '',
        'Postern created the default tenant and its first Global Administrator:',
        `  tenant:   ${created.tenant.id} (${created.tenant.displayName}, domain postern.local)`,
        `  admin:    ${created.admin.userPrincipalName}`,
        `  password: ${created.oneTimePassword}`,
        'This password is shown once and is not stored anywhere readable. Sign in and change it.',
        '',
      ].join('\n'),
    );
  }
  const app = await createApp(services);
  if (!config.smtpUrl) {
    app.log.warn('SMTP_URL is not set: email (reset codes, notices, reminders) is kept in the outbox and not sent');
  }
  const sweep = setInterval(() => {
    sweepExpired(services).catch((err: unknown) => app.log.warn({ err }, 'housekeeping sweep failed'));
  }, HOUSEKEEPING_INTERVAL_MS);
  sweep.unref();
  const outbox = createOutboxWorker(services, { mailer: services.mailer, sms: services.sms, voice: services.voice, log: app.log });
  outbox.start(5000);
  // one node at a time sweeps for due expiry reminders (a database lease); every 5 minutes is plenty for day marks
  const reminders = createReminderScheduler(services, `${hostname()}:${process.pid}`, undefined, app.log);
  reminders.start(5 * 60_000);
  // audit retention: hourly, one node at a time (a database lease); removes in batches and anchors the chain
  const retention = createAuditRetentionScheduler(services, `${hostname()}:${process.pid}`, {}, app.log);
  retention.start(AUDIT_RETENTION_INTERVAL_MS);
  // writeback: expire lapsed jobs and apply on-premises successes whose cloud write failed, every minute
  const stopWritebackSweep = startWritebackSweeper(services, (err) => app.log.warn({ err }, 'writeback sweep failed'));
  const stop = async (): Promise<void> => {
    clearInterval(sweep);
    await reminders.stop();
    await retention.stop();
    stopWritebackSweep();
    await outbox.stop();
    await app.close();
    await services.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const address = await app.listen({ port: config.port, host: config.host });
  io.out(`Postern is listening on ${address} (public URL ${config.publicUrl}, database ${services.dialect})`);
  await new Promise<void>((resolve) => app.server.once('close', () => resolve()));
}
