import type { FastifyInstance } from 'fastify';
import {
  getRegistrationDetails,
  listRegistrationDetails,
  type ReportBooleanField,
  type ReportFilter,
  type UserRegistrationDetails,
} from '../../../domain/registration-report.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authorize } from '../../auth.js';
import { odataContext } from '../../graph-views.js';
import { buildNextLink, parseCollectionQuery, parseEntityQuery, type CollectionSpec, type FilterClause } from '../../odata.js';

/**
 * `GET /v1.0/reports/authenticationMethods/userRegistrationDetails` and `/{id}` (reference §8.6).
 * The OData parser knows `eq` and `startswith`; Graph clients filter this report with the lambda
 * `methodsRegistered/any(m: m eq 'email')`, so that one form is rewritten (outside string literals)
 * to a pseudo-property the parser accepts, and every other use of `methodsRegistered` is refused.
 */

const PATH = '/v1.0/reports/authenticationMethods/userRegistrationDetails';
const ENTITY_SET = 'reports/authenticationMethods/userRegistrationDetails';
const ANY_FIELD = 'methodsRegistered/any';

type Property = keyof UserRegistrationDetails;
const PROPERTIES: readonly Property[] = [
  'id',
  'userPrincipalName',
  'userDisplayName',
  'userType',
  'isAdmin',
  'isSsprRegistered',
  'isSsprEnabled',
  'isSsprCapable',
  'isMfaRegistered',
  'isMfaCapable',
  'isPasswordlessCapable',
  'isSystemPreferredAuthenticationMethodEnabled',
  'systemPreferredAuthenticationMethods',
  'userPreferredMethodForSecondaryAuthentication',
  'methodsRegistered',
  'lastUpdatedDateTime',
];

const BOOLEAN_FIELDS: readonly ReportBooleanField[] = ['isAdmin', 'isSsprRegistered', 'isSsprEnabled', 'isSsprCapable', 'isMfaRegistered', 'isMfaCapable', 'isPasswordlessCapable'];
type FilterField = ReportBooleanField | 'userPrincipalName' | 'userDisplayName' | 'userType' | typeof ANY_FIELD;

export const REGISTRATION_REPORT_SPEC: CollectionSpec<FilterField, Property> = {
  entity: 'userRegistrationDetails',
  filterable: {
    userPrincipalName: 'string',
    userDisplayName: 'string',
    userType: 'string',
    [ANY_FIELD]: 'string',
    ...(Object.fromEntries(BOOLEAN_FIELDS.map((f) => [f, 'boolean'])) as Record<ReportBooleanField, 'boolean'>),
  },
  selectable: PROPERTIES,
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

const unsupported = (message: string) => new AppError('request.unsupported_query', { message, data: { property: 'methodsRegistered' } });
const LAMBDA = /^methodsRegistered\/any\s*\(\s*([A-Za-z_]\w*)\s*:\s*([A-Za-z_]\w*)\s+eq\s+('(?:[^']|'')*')\s*\)/i;

/** `methodsRegistered/any(m: m eq 'email')` → `methodsRegistered/any eq 'email'`; string literals are copied untouched. */
export function rewriteAnyLambdas(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === "'") {
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") {
          j += 1;
          break;
        } else j += 1;
      }
      out += text.slice(i, j);
      i = j;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_./]*/.exec(text.slice(i));
    if (!word) {
      out += text[i];
      i += 1;
      continue;
    }
    if (word[0].toLowerCase() === ANY_FIELD.toLowerCase()) {
      const m = LAMBDA.exec(text.slice(i));
      if (!m || m[1] !== m[2]) throw unsupported("methodsRegistered can only be filtered as methodsRegistered/any(m: m eq 'name').");
      out += `${ANY_FIELD} eq ${m[3]}`;
      i += m[0].length;
      continue;
    }
    out += word[0];
    i += word[0].length;
  }
  return out;
}

function reportFilter(c: FilterClause<FilterField>): ReportFilter {
  if (c.field === 'userPrincipalName' || c.field === 'userDisplayName') return { field: c.field, op: c.op, value: String(c.value) };
  if (c.op !== 'eq') throw new AppError('request.unsupported_query', { message: `startswith is not supported on property '${c.field}'.`, data: { property: c.field } });
  if (c.field === ANY_FIELD) return { field: 'methodsRegistered', value: String(c.value) };
  if (c.field === 'userType') return { field: 'userType', value: String(c.value) };
  return { field: c.field, value: c.value === true };
}

function project(d: UserRegistrationDetails, select: readonly Property[] | undefined): Record<string, unknown> {
  if (!select) return { ...d };
  return Object.fromEntries(select.map((p) => [p, d[p]]));
}

export function registrationReportRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;

  app.get(PATH, async (request) => {
    const principal = await authorize(services, request, 'reports.read');
    const raw = (request.query ?? {}) as Record<string, unknown>;
    const filterKey = Object.keys(raw).find((k) => k.toLowerCase() === '$filter');
    const query = filterKey !== undefined && typeof raw[filterKey] === 'string' ? { ...raw, [filterKey]: rewriteAnyLambdas(raw[filterKey]) } : raw;
    const q = parseCollectionQuery(query, REGISTRATION_REPORT_SPEC);
    // nextLink repeats the filter as the client wrote it, not the rewritten form
    const carried = filterKey !== undefined && typeof raw[filterKey] === 'string' ? { ...q.carried, $filter: raw[filterKey] } : q.carried;
    const page = await listRegistrationDetails(services, principal.tenantId, { filters: q.filter.map(reportFilter), afterId: q.afterId, top: q.top });
    return {
      '@odata.context': odataContext(base, ENTITY_SET, q.select, false),
      ...(page.nextAfterId !== undefined ? { '@odata.nextLink': buildNextLink(base, PATH, carried, page.nextAfterId) } : {}),
      value: page.items.map((d) => project(d, q.select)),
    };
  });

  app.get(`${PATH}/:id`, async (request) => {
    const principal = await authorize(services, request, 'reports.read');
    const { select } = parseEntityQuery(request.query, PROPERTIES, 'userRegistrationDetails');
    const details = await getRegistrationDetails(services, principal.tenantId, (request.params as { id: string }).id);
    return { '@odata.context': odataContext(base, ENTITY_SET, select, true), ...project(details, select) };
  });
}
