import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AUDIT_RETENTION_LIMITS, getAuditPolicy, updateAuditPolicy } from '../../../domain/audit-retention.js';
import { MAX_SIEM_WEBHOOKS } from '../../../domain/audit-stream.js';
import { parseExpectHead, verifyAuditChain } from '../../../domain/audit-verify.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';

const verifyQuery = z.strictObject({
  expectHead: z
    .string()
    .refine((v) => parseExpectHead(v) !== null, 'must be SEQ:HASH (a sequence number, a colon and 64 hex digits), as verify reports the head')
    .optional(),
});

const webhook = z.strictObject({
  id: z.uuid('must be the id of one of the tenant webhooks').optional(),
  url: z.string().max(2048, 'must be at most 2048 characters').optional(),
  // write-only; the receiver verifies X-Postern-Signature with it
  secret: z.string().min(16, 'must be at least 16 characters').max(256, 'must be at most 256 characters').optional(),
});

const patchBody = z
  .strictObject({
    retentionDays: z
      .number()
      .int('must be a whole number')
      .min(AUDIT_RETENTION_LIMITS.min, `must be at least ${AUDIT_RETENTION_LIMITS.min}`)
      .max(AUDIT_RETENTION_LIMITS.max, `must be at most ${AUDIT_RETENTION_LIMITS.max}`),
    siemWebhooks: z.array(webhook).max(MAX_SIEM_WEBHOOKS, `at most ${MAX_SIEM_WEBHOOKS} webhooks`),
  })
  .partial();

/** Tamper evidence, retention and SIEM streaming of the audit log (issue 6 items 5–7). */
export function auditAdminRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/audit/verify',
    doc({
      summary: "Walk the tenant's audit hash chain",
      description:
        'Recomputes every hash and link from the retention anchor and names the first altered, missing, renumbered or inserted event. Keep the reported head elsewhere and pass it as expectHead: deleting the newest events is found only that way. A broken chain is still a 200: the body reports it.',
      tags: ['Audit'],
      auth: 'admin',
      querystring: verifyQuery,
      responses: { 200: '{ok, count, head, start} or {ok:false, count, start, firstBad:{seq, id, problem, detail}}', 400: 'expectHead is malformed', 401: 'Not signed in', 403: 'Needs AuditLog.Read.All or Global Administrator, Reports Reader, Security Reader or Security Administrator' },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'reports.read');
      const query = verifyQuery.parse(request.query);
      const expectHead = query.expectHead === undefined ? null : parseExpectHead(query.expectHead);
      const result = await verifyAuditChain(services.db, principal.tenantId, expectHead ? { expectHead } : {});
      return reply.header('cache-control', 'no-store').send({ tenantId: principal.tenantId, ...result });
    },
  );

  app.get(
    '/api/v1/policies/audit',
    doc({ summary: 'Read the audit log policy: retention and SIEM webhooks (secrets are never returned)', tags: ['Policies'], auth: 'admin', responses: { 200: 'The policy', 401: 'Not signed in', 403: 'Needs Global Administrator or Security Administrator (apps: Policy.ReadWrite.AuthenticationMethod)' } }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'policies.audit');
      return reply.header('cache-control', 'no-store').send(await getAuditPolicy(services, principal.tenantId));
    },
  );

  app.patch(
    '/api/v1/policies/audit',
    doc({
      summary: 'Change audit retention and/or the SIEM webhooks (audited with old and new values)',
      description: 'siemWebhooks is the whole new list: an entry with an id keeps that webhook (url and secret may change), one without adds a webhook (url and secret required), unlisted ones are removed. URLs must be https (http only to a loopback address outside production).',
      tags: ['Policies'],
      auth: 'admin',
      body: patchBody,
      responses: { 200: 'The policy after the change', 400: 'A field is wrong; the error names it', 403: 'Not allowed' },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'policies.audit');
      const patch = patchBody.parse(request.body);
      const policy = await updateAuditPolicy(services, requestContext(request, principal), principal.tenantId, patch);
      return reply.header('cache-control', 'no-store').send(policy);
    },
  );
}
