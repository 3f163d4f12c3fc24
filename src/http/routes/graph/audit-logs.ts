import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../errors.js';
import { hmac, safeEqual } from '../../../lib/crypto.js';
import type { Services } from '../../../services.js';
import { toDirectoryAudit } from '../../../domain/audit-view.js';
import { findAuditEvent, type AuditEvent } from '../../../store/audit-events.js';
import { queryDirectoryAudits, type AuditOrder, type AuditPosition } from '../../../store/audit-query.js';
import { authorize } from '../../auth.js';
import { odataContext } from '../../graph-views.js';
import { parseSelect, parseTop, systemOptions } from '../../odata.js';
import { parseODataFilter, type FilterNode, type FilterSchema } from '../../odata-filter.js';

/**
 * `GET /v1.0/auditLogs/directoryAudits` and `/{id}` (SPEC 3.7, reference §8.5). Pages are keyset
 * paged on (activityDateTime, id). The $skiptoken is opaque and tamper-proof: the position, MACed
 * with a key derived from the SecretBox over the tenant, the parsed filter and the order too, so
 * a token cannot be edited, nor replayed against another query or tenant (either gives 400).
 * Page size: 100 by default, at most 1000 ($top), the Azure AD reporting APIs' page limit.
 */

const PATH = '/v1.0/auditLogs/directoryAudits';
const ENTITY_SET = 'auditLogs/directoryAudits';
export const DEFAULT_TOP = 100;
export const MAX_TOP = 1000;

export const DIRECTORY_AUDIT_FILTER: FilterSchema = {
  entity: 'directoryAudit',
  fields: {
    id: { type: 'string' },
    activityDateTime: { type: 'dateTimeOffset' },
    activityDisplayName: { type: 'string', startswith: true },
    loggedByService: { type: 'string', startswith: true },
    category: { type: 'string', startswith: true },
    result: { type: 'string', values: ['success', 'failure', 'timeout'] },
    correlationId: { type: 'string' },
    'initiatedBy/user/id': { type: 'string' },
    'initiatedBy/user/userPrincipalName': { type: 'string', startswith: true },
    'initiatedBy/user/displayName': { type: 'string', startswith: true },
    'initiatedBy/app/appId': { type: 'string' },
  },
  collections: {
    targetResources: { id: { type: 'string' }, userPrincipalName: { type: 'string', startswith: true } },
  },
};

const PROPERTIES = [
  'id',
  'category',
  'correlationId',
  'result',
  'resultReason',
  'activityDisplayName',
  'activityDateTime',
  'loggedByService',
  'operationType',
  'initiatedBy',
  'targetResources',
  'additionalDetails',
] as const;
type Property = (typeof PROPERTIES)[number];

const unsupported = (message: string, data: Record<string, unknown>) => new AppError('request.unsupported_query', { message, data });
const badToken = () => new AppError('request.invalid', { message: 'The $skiptoken is not valid for this query. Follow @odata.nextLink exactly as it was returned.' });

export interface DirectoryAuditQuery {
  filter: FilterNode | null;
  order: AuditOrder;
  top: number;
  select: Property[] | undefined;
  skiptoken: string | undefined;
  /** the options to repeat in @odata.nextLink, as the client sent them */
  carried: Record<string, string>;
}

export function parseDirectoryAuditQuery(query: unknown): DirectoryAuditQuery {
  const options = systemOptions(query);
  for (const name of ['$search', '$expand', '$skip', '$format', '$count']) {
    if (!options.has(name) || (name === '$count' && options.get(name)!.toLowerCase() === 'false')) continue;
    throw unsupported(`Query option '${name}' is not supported on this resource.`, { option: name });
  }
  const filterText = options.get('$filter');
  const orderText = options.get('$orderby');
  const selectText = options.get('$select');
  const top = parseTop(options.get('$top'), DEFAULT_TOP, MAX_TOP);
  return {
    filter: filterText === undefined ? null : parseODataFilter(filterText, DIRECTORY_AUDIT_FILTER),
    order: orderText === undefined ? 'desc' : parseOrder(orderText),
    top,
    select: selectText === undefined ? undefined : parseSelect(selectText, PROPERTIES, 'directoryAudit'),
    skiptoken: options.get('$skiptoken'),
    carried: {
      ...(filterText !== undefined ? { $filter: filterText } : {}),
      ...(selectText !== undefined ? { $select: selectText } : {}),
      ...(orderText !== undefined ? { $orderby: orderText } : {}),
      $top: String(top),
    },
  };
}

/** Only activityDateTime orders; as OData says, a property without a direction is ascending. */
function parseOrder(text: string): AuditOrder {
  const m = /^\s*([A-Za-z/]+)(?:\s+(asc|desc))?\s*$/i.exec(text);
  if (!m || m[1]!.toLowerCase() !== 'activitydatetime') {
    throw unsupported(`Sorting by '${text.slice(0, 64)}' is not supported; directoryAudits can be ordered by activityDateTime asc or desc.`, { option: '$orderby' });
  }
  return m[2]?.toLowerCase() === 'desc' ? 'desc' : 'asc';
}

// ---- the skip token -----------------------------------------------------------------------------

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function binding(tenantId: string, q: DirectoryAuditQuery): string {
  return createHash('sha256').update(JSON.stringify([tenantId, q.order, q.filter])).digest('base64url');
}

export function encodeAuditSkipToken(services: Pick<Services, 'secretBox'>, tenantId: string, q: DirectoryAuditQuery, at: AuditPosition): string {
  const payload = Buffer.from(JSON.stringify([at.activityDateTime, at.id]), 'utf8').toString('base64url');
  return `${payload}.${hmac(services.secretBox.derive('graph-audit-skiptoken'), `${payload}.${binding(tenantId, q)}`)}`;
}

export function decodeAuditSkipToken(services: Pick<Services, 'secretBox'>, tenantId: string, q: DirectoryAuditQuery, token: string): AuditPosition {
  const m = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) throw badToken();
  const expected = hmac(services.secretBox.derive('graph-audit-skiptoken'), `${m[1]}.${binding(tenantId, q)}`);
  if (!safeEqual(expected, m[2]!)) throw badToken();
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8'));
  } catch {
    throw badToken();
  }
  if (!Array.isArray(position) || position.length !== 2 || typeof position[0] !== 'string' || typeof position[1] !== 'string' || !ISO.test(position[0])) throw badToken();
  return { activityDateTime: position[0], id: position[1] };
}

// ---- the Graph shape ----------------------------------------------------------------------------

export function graphDirectoryAudit(e: AuditEvent, select?: readonly Property[]): Record<string, unknown> {
  const full = toDirectoryAudit(e);
  return select ? Object.fromEntries(select.map((p) => [p, full[p]])) : full;
}

function nextLink(publicUrl: string, carried: Record<string, string>, skiptoken: string): string {
  const parts = Object.entries({ ...carried, $skiptoken: skiptoken }).map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  return `${publicUrl}${PATH}?${parts.join('&')}`;
}

export function auditLogRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.get(PATH, async (request) => {
    const principal = await authorize(services, request, 'reports.read');
    const q = parseDirectoryAuditQuery(request.query);
    const after = q.skiptoken === undefined ? undefined : decodeAuditSkipToken(services, principal.tenantId, q, q.skiptoken);
    const page = await queryDirectoryAudits(services.db, principal.tenantId, q.filter, q.order, q.top, after);
    return {
      '@odata.context': odataContext(base, ENTITY_SET, q.select, false),
      ...(page.next ? { '@odata.nextLink': nextLink(base, q.carried, encodeAuditSkipToken(services, principal.tenantId, q, page.next)) } : {}),
      value: page.events.map((e) => graphDirectoryAudit(e, q.select)),
    };
  });

  app.get(`${PATH}/:id`, async (request) => {
    const principal = await authorize(services, request, 'reports.read');
    const id = (request.params as { id: string }).id;
    if (id.toLowerCase() === '$count') throw unsupported("'$count' is not supported on this resource.", { option: '$count' });
    const options = systemOptions(request.query);
    for (const name of options.keys()) {
      if (name !== '$select') throw unsupported(`Query option '${name}' is not supported on a single directoryAudit.`, { option: name });
    }
    const selectText = options.get('$select');
    const select = selectText === undefined ? undefined : parseSelect(selectText, PROPERTIES, 'directoryAudit');
    const event = await findAuditEvent(services.db, principal.tenantId, id);
    if (!event) {
      throw new AppError('request.not_found', { message: `Resource '${id.slice(0, 64)}' does not exist or one of its queried reference-property objects are not present.` });
    }
    return { '@odata.context': odataContext(base, ENTITY_SET, select, true), ...graphDirectoryAudit(event, select) };
  });
}
