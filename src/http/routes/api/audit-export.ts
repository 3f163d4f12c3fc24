import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { streamAuditEvents } from '../../../domain/reports/audit-export.js';
import { csvStream, type CsvValue } from '../../../lib/csv.js';
import type { AuditEvent } from '../../../store/audit-events.js';
import type { Services } from '../../../services.js';
import { authorize } from '../../auth.js';
import { doc } from '../../openapi.js';
import { sendCsv } from './reports.js';

/**
 * GET /api/v1/audit/events.csv: the tenant's audit log as CSV, newest first, streamed a page at a time
 * (constant memory whatever the range). Filters as the reports (from, to, user — initiator or target),
 * initiator and target as the audit log page filters them, plus exact activity, category, loggedByService and result. Nested values are flattened: targets as
 * "type:name (id)" joined by "; ", details as "key=value" joined by "; ", modified properties as JSON.
 */

const query = z.strictObject({
  from: z.string().optional().describe('start of the range, inclusive: 2026-11-01 or 2026-11-01T08:00:00Z'),
  to: z.string().optional().describe('end of the range, inclusive: a date means that whole UTC day'),
  user: z.string().max(256).optional().describe('object id or userPrincipalName of the initiator or a target'),
  initiator: z.string().max(256).optional().describe('object id or userPrincipalName of the initiator (initiatedBy/user)'),
  target: z.string().max(256).optional().describe('object id or userPrincipalName of one of the targets (targetResources)'),
  activity: z.string().max(200).optional().describe('activityDisplayName, exactly'),
  category: z.string().max(100).optional(),
  loggedByService: z.string().max(100).optional(),
  result: z.enum(['success', 'failure', 'timeout']).optional(),
  bom: z.enum(['true', 'false']).optional().describe('true: start with a UTF-8 byte order mark (for Excel)'),
});

export const AUDIT_CSV_HEADER = [
  'Id',
  'Date and Time (UTC)',
  'Service',
  'Category',
  'Activity',
  'Operation Type',
  'Result',
  'Result Reason',
  'Correlation Id',
  'Initiated By',
  'Initiated By Id',
  'IP Address',
  'Targets',
  'Modified Properties',
  'Additional Details',
];

export function auditCsvRecord(e: AuditEvent): CsvValue[] {
  const by = e.initiatedBy.user;
  const app = e.initiatedBy.app;
  const modifiedProperties = e.targetResources.flatMap((t) => t.modifiedProperties);
  return [
    e.id,
    e.activityDateTime,
    e.loggedByService,
    e.category,
    e.activityDisplayName,
    e.operationType,
    e.result,
    e.resultReason,
    e.correlationId,
    by?.userPrincipalName ?? app?.displayName ?? null,
    by?.id ?? app?.appId ?? null,
    by?.ipAddress ?? null,
    e.targetResources.map((t) => `${t.type}:${t.userPrincipalName ?? t.displayName ?? ''} (${t.id})`).join('; '),
    modifiedProperties.length > 0 ? JSON.stringify(modifiedProperties) : '',
    e.additionalDetails.map((d) => `${d.key}=${d.value}`).join('; '),
  ];
}

export function auditExportRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/audit/events.csv',
    doc({
      summary: 'The audit log as CSV (RFC 4180, streamed, whole range, newest first)',
      tags: ['Audit'],
      auth: 'admin',
      querystring: query,
      responses: {
        200: 'text/csv attachment',
        400: 'A filter is not valid (the message names it)',
        401: 'Not signed in',
        403: 'Needs AuditLog.Read.All or the Global, Reports Reader, Security Reader or Security Administrator role',
      },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'reports.read');
      const q = query.parse(request.query ?? {});
      const events = streamAuditEvents(services, principal.tenantId, q);
      return sendCsv(reply, services, 'audit-log', csvStream(AUDIT_CSV_HEADER, events, auditCsvRecord, { bom: q.bom === 'true' }));
    },
  );
}
