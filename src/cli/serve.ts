import type { Config } from '../config.js';
import { createOutboxWorker } from '../delivery/outbox-worker.js';
import { createReminderScheduler } from '../domain/expiry-reminders.js';
import { startWritebackSweeper } from '../writeback/retry.js';
import { AUDIT_RETENTION_INTERVAL_MS, createAuditRetentionScheduler } from '../domain/audit-retention.js';
import { HOUSEKEEPING_INTERVAL_MS, sweepExpired } from '../domain/housekeeping.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
  const connections = trackConnections(app.server, config.tls !== undefined);
  const stop = async (): Promise<void> => {
    clearInterval(sweep);
    await reminders.stop();
    await retention.stop();
    stopWritebackSweep();
    // Stop listening and let the requests in hand finish (their answers say `Connection: close`);
    // connections without a request in hand are closed now: idle keep-alive ones, and ones a client
    // opened and never used (a browser's preconnect, an HTTP client's spare), which Node's
    // closeIdleConnections() does not count as idle and which kept `serve` alive after a load. What is
    // still open after the grace period is cut. The outbox finishes its batch meanwhile (bounded by
    // the transports' timeouts); only then do the mailer and the database close.
    const closing = app.close();
    connections.drain();
    const cut = setTimeout(() => connections.destroyAll(), SHUTDOWN_GRACE_MS);
    cut.unref();
    await Promise.all([closing, outbox.stop()]);
    clearTimeout(cut);
    await services.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const address = await app.listen({ port: config.port, host: config.host });
  io.out(`Postern is listening on ${address} (public URL ${config.publicUrl}, database ${services.dialect})`);
  // after listening, so start-up does not wait for it: the first reset code then does not load the
  // SMTP client (seconds on a busy machine, with every mail queued meanwhile waiting behind it)
  setImmediate(() => services.mailer.prepare?.());
  await new Promise<void>((resolve) => app.server.once('close', () => resolve()));
}

/** How long a shutdown waits for the requests in hand before it closes their connections. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * The server's connections and the answers in hand on each, so that a shutdown can close what is
 * idle at once and the rest as soon as its answer is out.
 */
function trackConnections(server: Server, tls: boolean): { drain(): void; destroyAll(): void } {
  /** connections as requests see them (over TLS: the TLS socket, once its handshake is done) */
  const sockets = new Set<Socket>();
  /** TCP connections of a TLS server, handshake done or not: cut with the rest when the grace is over */
  const tcp = new Set<Socket>();
  /** answers not yet finished, by connection */
  const answers = new Map<Socket, Set<ServerResponse>>();
  let draining = false;
  const keep = (set: Set<Socket>) => (socket: Socket) => {
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      answers.delete(socket);
    });
  };
  server.on(tls ? 'secureConnection' : 'connection', keep(sockets));
  if (tls) server.on('connection', keep(tcp));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const open = answers.get(socket) ?? new Set<ServerResponse>();
    answers.set(socket, open.add(res));
    if (draining && !res.headersSent) res.setHeader('connection', 'close');
    res.once('close', () => {
      open.delete(res);
      if (open.size > 0) return;
      answers.delete(socket);
      if (draining) socket.destroySoon();
    });
  });
  return {
    drain() {
      draining = true;
      for (const socket of sockets) {
        const open = answers.get(socket);
        if (!open) socket.destroy();
        else for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close');
      }
    },
    destroyAll() {
      for (const socket of [...sockets, ...tcp]) socket.destroy();
    },
  };
}
