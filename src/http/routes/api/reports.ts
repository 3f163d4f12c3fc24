import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DEFAULT_TOP, MAX_TOP } from '../../../domain/reports/query.js';
import {
  REGISTRATION_METHODS,
  listRegistrationActivity,
  streamRegistrationActivity,
  type RegistrationActivityRow,
} from '../../../domain/reports/registration-activity.js';
import { RESET_METHODS, RESET_RESULTS, listPasswordResetActivity, streamPasswordResetActivity, type ResetActivityRow } from '../../../domain/reports/reset-activity.js';
import { csvStream, type CsvValue } from '../../../lib/csv.js';
import type { Services } from '../../../services.js';
import { authorize } from '../../auth.js';
import { doc } from '../../openapi.js';

/**
 * The classic reports as Postern API (reference §5.2, SPEC 3.7): password reset activity and
 * registration activity, as JSON pages with an opaque cursor, or the whole range as CSV streamed a
 * page at a time. Any date range, no row cap. Readers: capability reports.read.
 */

const BASE = '/api/v1/reports';

const range = {
  from: z.string().optional().describe('start of the range, inclusive: 2026-11-01 or 2026-11-01T08:00:00Z'),
  to: z.string().optional().describe('end of the range, inclusive: a date means that whole UTC day'),
  user: z.string().max(256).optional().describe("the user's object id or userPrincipalName"),
};
const paging = {
  cursor: z.string().max(512).optional().describe('nextCursor of the previous page (same filters)'),
  top: z.coerce.number().int().min(1).max(MAX_TOP).optional().describe(`rows per page, default ${DEFAULT_TOP}, at most ${MAX_TOP}`),
};
const csvOptions = { bom: z.enum(['true', 'false']).optional().describe('true: start with a UTF-8 byte order mark (for Excel)') };

const resetFilters = {
  ...range,
  result: z.enum(RESET_RESULTS).optional(),
  method: z.enum(RESET_METHODS).optional().describe('rows whose flow used this method'),
};
const registrationFilters = { ...range, method: z.enum(REGISTRATION_METHODS).optional().describe('rows that registered this method') };

const resetQuery = z.strictObject({ ...resetFilters, ...paging });
const resetCsvQuery = z.strictObject({ ...resetFilters, ...csvOptions });
const registrationQuery = z.strictObject({ ...registrationFilters, ...paging });
const registrationCsvQuery = z.strictObject({ ...registrationFilters, ...csvOptions });

/** Postern API pages: the rows, the cursor of the next page, and a link to it on PUBLIC_URL. */
function pageBody<R>(services: Services, path: string, query: Record<string, string | number | undefined>, page: { rows: R[]; nextCursor: string | null }) {
  let nextLink: string | null = null;
  if (page.nextCursor !== null) {
    const url = new URL(path, services.config.publicUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && k !== 'cursor') url.searchParams.set(k, String(v));
    url.searchParams.set('cursor', page.nextCursor);
    nextLink = url.toString();
  }
  return { value: page.rows, nextCursor: page.nextCursor, nextLink };
}

/** Sends a CSV export: an attachment named after the report and the moment, never cached. */
export function sendCsv(reply: FastifyReply, services: Services, name: string, body: NodeJS.ReadableStream): FastifyReply {
  const stamp = services.clock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}-${stamp}.csv"`)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(body);
}

export const RESET_CSV_HEADER = ['User', 'Display Name', 'Role', 'Date and Time (UTC)', 'Method(s) Used', 'Result', 'Details', 'Activity', 'Initiated By', 'Flow Id', 'Event Id'];
export function resetCsvRecord(r: ResetActivityRow): CsvValue[] {
  return [r.user.userPrincipalName, r.user.displayName, r.role, r.dateTime, r.methodsUsed.join(' + '), r.result, r.details, r.activity, r.initiatedBy, r.flowId, r.id];
}

export const REGISTRATION_CSV_HEADER = ['User', 'Display Name', 'Role', 'Date and Time (UTC)', 'Data Registered', 'Activity', 'Initiated By', 'Event Id'];
export function registrationCsvRecord(r: RegistrationActivityRow): CsvValue[] {
  return [r.user.userPrincipalName, r.user.displayName, r.role, r.dateTime, r.dataRegistered, r.activity, r.initiatedBy, r.id];
}

const readerResponses = { 400: 'A filter or the cursor is not valid (the message names it)', 401: 'Not signed in', 403: 'Needs AuditLog.Read.All or the Global, Reports Reader, Security Reader or Security Administrator role' };

export function reportRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    `${BASE}/passwordResetActivity`,
    doc({
      summary: 'Password reset activity: one row per outcome of a self-service reset or unlock (and each admin reset), newest first',
      description: 'Result is one of Abandoned, Blocked, Cancelled, Contacted Admin, Failed, Succeeded; details is the reference §5.2 text. A flow is listed once it has an outcome (an unfinished one when its 15 minutes lapse, as Abandoned).',
      tags: ['Reports'],
      auth: 'admin',
      querystring: resetQuery,
      responses: { 200: '{ value: rows, nextCursor, nextLink }', ...readerResponses },
    }),
    async (request) => {
      const principal = await authorize(services, request, 'reports.read');
      const q = resetQuery.parse(request.query ?? {});
      const page = await listPasswordResetActivity(services, principal.tenantId, q, { cursor: q.cursor, top: q.top ?? DEFAULT_TOP });
      return pageBody(services, `${BASE}/passwordResetActivity`, q, page);
    },
  );

  app.get(
    `${BASE}/passwordResetActivity.csv`,
    doc({ summary: 'Password reset activity as CSV (RFC 4180, streamed, whole range)', tags: ['Reports'], auth: 'admin', querystring: resetCsvQuery, responses: { 200: 'text/csv attachment', ...readerResponses } }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'reports.read');
      const q = resetCsvQuery.parse(request.query ?? {});
      const rows = streamPasswordResetActivity(services, principal.tenantId, q);
      return sendCsv(reply, services, 'password-reset-activity', csvStream(RESET_CSV_HEADER, rows, resetCsvRecord, { bom: q.bom === 'true' }));
    },
  );

  app.get(
    `${BASE}/registrationActivity`,
    doc({ summary: 'Password reset registration activity: who registered which data, newest first', tags: ['Reports'], auth: 'admin', querystring: registrationQuery, responses: { 200: '{ value: rows, nextCursor, nextLink }', ...readerResponses } }),
    async (request) => {
      const principal = await authorize(services, request, 'reports.read');
      const q = registrationQuery.parse(request.query ?? {});
      const page = await listRegistrationActivity(services, principal.tenantId, q, { cursor: q.cursor, top: q.top ?? DEFAULT_TOP });
      return pageBody(services, `${BASE}/registrationActivity`, q, page);
    },
  );

  app.get(
    `${BASE}/registrationActivity.csv`,
    doc({ summary: 'Registration activity as CSV (RFC 4180, streamed, whole range)', tags: ['Reports'], auth: 'admin', querystring: registrationCsvQuery, responses: { 200: 'text/csv attachment', ...readerResponses } }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'reports.read');
      const q = registrationCsvQuery.parse(request.query ?? {});
      const rows = streamRegistrationActivity(services, principal.tenantId, q);
      return sendCsv(reply, services, 'registration-activity', csvStream(REGISTRATION_CSV_HEADER, rows, registrationCsvRecord, { bom: q.bom === 'true' }));
    },
  );
}
