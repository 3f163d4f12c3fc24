import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createApp } from '../../src/http/app.js';
import { createUser } from '../../src/domain/users.js';
import { ADMIN_PASSWORD, createTestContext, testDialects, type TestContext } from '../helpers/context.js';

/**
 * Issue 10, deliverable 3 — fuzzing. Requests are generated from what the app itself says it serves:
 * every route Fastify has (app.printRoutes: the Graph routes, the Postern API, OAuth, pages) with
 * generated path parameters, and for the Postern API the body schemas of its OpenAPI document
 * (GET /api/v1/openapi.json). Query strings carry OData fragments; bodies are valid-looking, of the
 * wrong type or shape, huge or odd, as JSON, as forms or as neither; credentials are none, broken,
 * a user's, an admin's, an application's, or a web session with or without its CSRF token.
 *
 * The property: no 5xx, and every answer within REQUEST_BOUND_MS. Afterwards the database passes its
 * integrity checks and `postern audit verify` (the CLI's own code path) passes for every tenant.
 *
 * Runs: 10 000 requests per dialect, with a fixed seed under CI (CI or POSTERN_REQUIRE_SERVICES=1, as
 * .ci/run sets) and a random one otherwise (fast-check prints it on failure); FUZZ_RUNS / FUZZ_SEED
 * override. About 12 s (SQLite) and 16 s (PostgreSQL) on the 2-core test machine.
 */

const CI = Boolean(process.env.CI) || process.env.POSTERN_REQUIRE_SERVICES === '1';
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : CI ? 20_261_126 : undefined;
const REQUEST_BOUND_MS = 5_000;
const TEST_SECRET_KEY = 'test-secret-key-test-secret-key-0123456789';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
interface Route {
  method: Method;
  /** Fastify's pattern: /v1.0/users/:key, /account/* */
  path: string;
}
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
};

/** The routes of `app.printRoutes({ commonPrefix: false })`: each line's segment appended to its parent's path. */
function routesOf(tree: string): Route[] {
  const out: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[└├]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    // a node that two routes share with different parameter names prints as /:key|:id
    const segment = m[2]!.replace(/:([A-Za-z]+)\|:[A-Za-z]+/g, ':$1');
    const path = (depth === 0 ? '' : stack[depth - 1]!) + segment;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) out.push({ method: method as Method, path: path.startsWith('/') ? path : `/${path}` });
  }
  return out;
}

/** A value of (roughly) the schema's shape, at a bounded depth; lengths sometimes past the bounds. */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 1 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  const types = [schema.type ?? 'object'].flat();
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'string':
          return fc.oneof(
            fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }),
            fc.string({ unit: 'grapheme', minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }),
            fc.string({ unit: 'binary', maxLength: 30 }),
            fc.constantFrom('', 'admin@contoso.test', 'user1@contoso.test', 'x'.repeat((schema.maxLength ?? 300) + 1), '00000000-0000-0000-0000-000000000000', '2026-11-25T12:00:00Z', '+1 425 555 0100', 'Harbour-Lantern-Quill-42'),
          );
        case 'integer':
          return fc.integer({ min: (schema.minimum ?? -5) - 2, max: Math.min(schema.maximum ?? 1000, 1e6) + 2 });
        case 'number':
          return fc.oneof(fc.double(), fc.integer());
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'array':
          return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 });
        default: {
          const props = schema.properties ?? {};
          const keys = Object.keys(props);
          if (keys.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
          const record = Object.fromEntries(keys.map((k) => [k, fromSchema(props[k], depth + 1)]));
          return fc.record(record, { requiredKeys: [] });
        }
      }
    }),
  );
}

/** Field names the Graph and API bodies use, for property bags of the wrong types. */
const FIELDS = [
  'displayName', 'userPrincipalName', 'mailNickname', 'accountEnabled', 'passwordProfile', 'password', 'newPassword', 'currentPassword',
  'mail', 'otherMails', 'mobilePhone', 'businessPhones', 'phoneNumber', 'phoneType', 'emailAddress', 'code', 'method', 'answers', 'captcha',
  '@odata.id', 'members@odata.bind', 'principalId', 'roleDefinitionId', 'directoryScopeId', 'description', 'securityEnabled', 'mailEnabled',
  'groupTypes', 'profile', 'minLength', 'maxLength', 'enabledFor', 'methods', 'onPremisesImmutableId', 'usageLocation', 'givenName', 'surname',
  'forceChangePasswordNextSignIn', 'passwordPolicies', 'grant_type', 'client_id', 'client_secret', 'username', 'scope', 'refresh_token',
];
const odd = fc.constantFrom('', ' ', '\u0000', '\ud800', '%', '%zz', '../..', "'", "''", '"', '\\', '()', '*)(uid=*', '${x}', '{{7*7}}', '<script>', 'null', 'true', '-1', '1e999', '9'.repeat(40), '\u202e', 'é'.normalize('NFD'), '🦊', 'x'.repeat(600));
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), odd);
const propertyBag = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 6 })), fc.oneof(fc.jsonValue({ maxDepth: 2 }), text), { maxKeys: 6 });

/** encodeURIComponent, except that a lone surrogate becomes %ED%A0%80 (its CESU bytes: not UTF-8) instead of throwing. */
function encode(value: string): string {
  return value.split(/([\ud800-\udbff][\udc00-\udfff])/).map((part, i) => (i % 2 === 1 ? encodeURIComponent(part) : part.split(/[\ud800-\udfff]/).map(encodeURIComponent).join('%ED%A0%80'))).join('');
}

/** OData-ish query strings. */
const ODATA_FIELDS = ['displayName', 'userPrincipalName', 'id', 'mail', 'accountEnabled', 'createdDateTime', 'activityDateTime', 'activityDisplayName', 'loggedByService', 'result', 'category', 'initiatedBy/user/id', 'isMfaRegistered', 'nope'];
const literal = fc.oneof(
  fc.constantFrom("'x'", "'it''s'", 'true', 'false', 'null', '42', '-1', '2026-11-25T12:00:00Z', "'00000000-0000-0000-0000-000000000000'", "'", '(', ')', "'unterminated"),
  text.map((s) => `'${s.replace(/'/g, "''")}'`),
);
const comparison = fc
  .tuple(fc.constantFrom(...ODATA_FIELDS), fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in', 'has', 'EQ'), literal)
  .map(([f, op, v]) => `${f} ${op} ${v}`);
const call = fc.tuple(fc.constantFrom('startswith', 'endswith', 'contains', 'any', 'not', 'tolower'), fc.constantFrom(...ODATA_FIELDS), literal).map(([fn, f, v]) => `${fn}(${f},${v})`);
const filterExpr: fc.Arbitrary<string> = fc.oneof(
  comparison,
  call,
  fc.tuple(comparison, fc.constantFrom(' and ', ' or ', ' AND ', ' and not '), fc.oneof(comparison, call)).map(([a, op, b]) => `${a}${op}${b}`),
  fc.tuple(fc.constantFrom('(', 'not (', '(('), comparison).map(([p, c]) => `${p}${c}`),
  text,
);
const queryOption = fc.oneof(
  fc.tuple(fc.constant('$filter'), filterExpr),
  fc.tuple(fc.constant('$select'), fc.array(fc.constantFrom(...ODATA_FIELDS, '*', ''), { maxLength: 4 }).map((a) => a.join(','))),
  fc.tuple(fc.constantFrom('$top', '$skip'), fc.oneof(fc.integer({ min: -5, max: 2000 }).map(String), fc.constantFrom('1e3', 'x', '', '99999999999999999999', '0x10', ' 5'))),
  fc.tuple(fc.constant('$orderby'), fc.tuple(fc.constantFrom(...ODATA_FIELDS), fc.constantFrom('', ' asc', ' desc', ' up', ',id')).map(([f, d]) => `${f}${d}`)),
  fc.tuple(fc.constantFrom('$count', '$search', '$expand', '$skiptoken', '$format', 'from', 'to', 'top', 'period', 'limit', 'cursor', 'lang', 'api-version'), text),
);
const queryString = fc.array(queryOption, { maxLength: 3 }).map((opts) => (opts.length === 0 ? '' : `?${opts.map(([k, v]) => `${k}=${encode(v)}`).join('&')}`));

const VALID_AUTH = ['admin', 'admin', 'user', 'app', 'session'] as const;
const BROKEN_AUTH = ['none', 'tampered-token', 'empty-bearer', 'garbage-bearer', 'basic', 'two-bearers', 'session-without-csrf', 'session-bad-cookie', 'session-cross-site', 'admin-forwarded-host'] as const;
type AuthLabel = (typeof VALID_AUTH)[number] | (typeof BROKEN_AUTH)[number];

/** A generated request; `as` names the credentials, resolved when it is sent (they are renewed meanwhile). */
interface FuzzRequest {
  method: Method;
  url: string;
  as: AuthLabel;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

interface Credentials {
  admin: string;
  user: string;
  app: string;
  session: { cookie: string; csrf: string };
  ids: string[];
  flowId: string | null;
}

describe.each(testDialects())('fuzzing the HTTP surface on %s', (dialect) => {
  let ctx: TestContext;
  let cleanupWeb = (): void => undefined;
  /** the app under test; its error log lines go to errorLines (shown with a 5xx) */
  let app: FastifyInstance;
  const errorLines: string[] = [];
  let routes: Route[];
  let bodySchemas: Map<string, JsonSchema>;
  const creds: Credentials = { admin: '', user: '', app: '', session: { cookie: '', csrf: '' }, ids: [], flowId: null };

  beforeAll(async () => {
    // a built portal stands in for `npm run build`'s, so the page routes answer as in production
    // (unbuilt, they answer 503 on purpose) whether or not this checkout was built
    const webDir = mkdtempSync(join(tmpdir(), 'postern-fuzz-web-'));
    cleanupWeb = () => rmSync(webDir, { recursive: true, force: true });
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><html><body><div id="root"></div><script type="module" src="/assets/app-1.js"></script></body></html>');
    writeFileSync(join(webDir, 'assets', 'app-1.js'), 'export {}');
    ctx = await createTestContext(dialect, { env: { WEB_DIR: webDir } });
    // the app's own logger at info (the lowest level it offers); only error lines (level ≥ 50) are kept
    app = await createApp(ctx.services, { logLevel: 'info', logStream: { write: (line: string) => void (/"level":[5-6]\d/.test(line) && errorLines.push(line)) } });
    await app.ready();
    const tenantId = ctx.tenant.tenant.id;
    for (let i = 1; i <= 3; i++) {
      const u = await createUser(ctx.services, systemContext(ctx.services), { tenantId, userPrincipalName: `user${i}@contoso.test`, displayName: `User ${i}`, password: `Orig1nal-Kestrel-4${i}`, mail: `user${i}@mail.contoso.test` });
      creds.ids.push(u.id);
    }
    creds.ids.push(ctx.tenant.admin.id);
    creds.admin = await ctx.userToken('admin@contoso.test');
    creds.user = await ctx.userToken('user1@contoso.test');
    creds.app = await ctx.appToken(['User.ReadWrite.All', 'Group.ReadWrite.All', 'RoleManagement.ReadWrite.Directory', 'AuditLog.Read.All', 'UserAuthenticationMethod.ReadWrite.All']);
    const signIn = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { userPrincipalName: 'admin@contoso.test', password: ADMIN_PASSWORD } });
    expect(signIn.statusCode).toBe(200);
    const cookie = [signIn.headers['set-cookie']].flat().find((c) => c?.startsWith('postern_session='));
    creds.session = { cookie: cookie!.split(';')[0]!, csrf: signIn.json<{ csrfToken: string }>().csrfToken };

    routes = routesOf(app.printRoutes({ commonPrefix: false }));
    expect(routes.length).toBeGreaterThan(80);
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{ paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>> }>();
    bodySchemas = new Map();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const pattern = path.replace(/\{([^}]+)\}/g, ':$1');
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema) bodySchemas.set(`${method.toUpperCase()} ${pattern}`, schema);
      }
    }
    expect(bodySchemas.size).toBeGreaterThan(15);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
    cleanupWeb();
  });

  function requestArbitrary(): fc.Arbitrary<FuzzRequest> {
    const route = fc.constantFrom(...routes);
    const param = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...creds.ids, 'me', 'admin@contoso.test', 'user2@contoso.test', '28c10230-6103-485e-b985-444c60001490', '3179e48a-750b-4051-897c-87b9720928f7', 'contoso.test', 'email', 'mobile', 'mobileSms') },
      { weight: 2, arbitrary: fc.uuid() },
      { weight: 2, arbitrary: text },
    );
    const body = (schema: JsonSchema | undefined): fc.Arbitrary<{ payload?: string | Buffer; contentType?: string }> =>
      fc.oneof(
        { weight: 3, arbitrary: fromSchema(schema).map((v) => ({ payload: JSON.stringify(v) ?? 'null', contentType: 'application/json' })) },
        { weight: 3, arbitrary: propertyBag.map((v) => ({ payload: JSON.stringify(v), contentType: 'application/json' })) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ payload: JSON.stringify(v), contentType: 'application/json' })) },
        { weight: 1, arbitrary: propertyBag.map((v) => ({ payload: new URLSearchParams(Object.entries(v).map(([k, x]): [string, string] => [k, typeof x === 'string' ? x : JSON.stringify(x)])).toString(), contentType: 'application/x-www-form-urlencoded' })) },
        { weight: 1, arbitrary: fc.tuple(text, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=latin1')).map(([t, ct]) => ({ payload: t, contentType: ct })) },
        { weight: 1, arbitrary: fc.constantFrom<{ payload?: string | Buffer; contentType?: string }>(
          {},
          { payload: '', contentType: 'application/json' },
          { payload: '{"a":1,"a":2}', contentType: 'application/json' },
          { payload: '{"__proto__":{"admin":true}}', contentType: 'application/json' },
          { payload: `{"displayName":"${'x'.repeat(70_000)}"}`, contentType: 'application/json' },
          { payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), contentType: 'application/json' },
          { payload: 'a=%FF&a=2', contentType: 'application/x-www-form-urlencoded' },
          { payload: '[]', contentType: 'application/json' },
          { payload: '{"newPassword":"\\ud800"}', contentType: 'application/json' },
        ) },
      );
    // mostly credentials that get past authentication, so that the handlers behind them are reached
    const auth = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...VALID_AUTH) }, { weight: 2, arbitrary: fc.constantFrom(...BROKEN_AUTH) });
    return route.chain((r) =>
      fc
        .record({
          path: fc.array(param, { minLength: 8, maxLength: 8 }).map((values) => {
            let i = 0;
            return r.path.replace(/:[A-Za-z]+|\*/g, () => encode(values[i++ % values.length]!));
          }),
          query: queryString,
          body: body(bodySchemas.get(`${r.method} ${r.path}`)),
          auth,
          method: fc.oneof({ weight: 9, arbitrary: fc.constant(r.method) }, { weight: 1, arbitrary: fc.constantFrom<Method>('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS') }),
        })
        .map(({ path, query, body: b, auth: as, method }): FuzzRequest => {
          const headers: Record<string, string> = {};
          if (b.contentType) headers['content-type'] = b.contentType;
          return { method, url: `${path}${query}`, as, headers, ...(b.payload !== undefined ? { payload: b.payload } : {}) };
        }),
    );
  }

  /** The headers of a credential label, from the credentials as they are now. */
  function credentialHeaders(as: AuthLabel): Record<string, string> {
    const { admin, user, app: appToken, session } = creds;
    switch (as) {
      case 'admin': return { authorization: `Bearer ${admin}` };
      case 'user': return { authorization: `Bearer ${user}` };
      case 'app': return { authorization: `Bearer ${appToken}` };
      case 'session': return { cookie: session.cookie, 'x-csrf-token': session.csrf };
      case 'none': return {};
      case 'tampered-token': return { authorization: `Bearer ${admin.slice(0, -3)}abc` };
      case 'empty-bearer': return { authorization: 'Bearer ' };
      case 'garbage-bearer': return { authorization: 'Bearer a.b.c' };
      case 'basic': return { authorization: 'Basic YWRtaW46YWRtaW4=' };
      case 'two-bearers': return { authorization: `bearer ${user}, Bearer ${admin}` };
      case 'session-without-csrf': return { cookie: session.cookie };
      case 'session-bad-cookie': return { cookie: `${session.cookie}x`, 'x-csrf-token': session.csrf };
      case 'session-cross-site': return { cookie: session.cookie, 'x-csrf-token': session.csrf, 'sec-fetch-site': 'cross-site' };
      case 'admin-forwarded-host': return { authorization: `Bearer ${admin}`, 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-forwarded-host': 'evil.example', host: 'evil.example' };
    }
  }

  async function injectWithin(fuzz: FuzzRequest): Promise<LightMyRequestResponse> {
    const { as, ...rest } = fuzz;
    const request: InjectOptions = { ...rest, headers: { ...credentialHeaders(as), ...rest.headers } };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_BOUND_MS} ms`)), REQUEST_BOUND_MS);
    });
    try {
      return await Promise.race([app.inject(request), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function databaseIntact(): Promise<void> {
    const db = ctx.services.db;
    if (dialect === 'sqlite') {
      const integrity = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db);
      expect(integrity.rows).toEqual([{ integrity_check: 'ok' }]);
      const foreignKeys = await sql<Record<string, unknown>>`pragma foreign_key_check`.execute(db);
      expect(foreignKeys.rows).toEqual([]);
    } else {
      // every constraint the schema declares is in force (none left NOT VALID), and each foreign key
      // still holds when checked from scratch
      const invalid = await sql<{ conname: string }>`select conname from pg_constraint where connamespace = 'public'::regnamespace and not convalidated`.execute(db);
      expect(invalid.rows).toEqual([]);
      const fks = await sql<{ tbl: string; conname: string }>`select conrelid::regclass::text as tbl, conname from pg_constraint where connamespace = 'public'::regnamespace and contype = 'f'`.execute(db);
      for (const fk of fks.rows) {
        const def = await sql<{ def: string }>`select pg_get_constraintdef(oid) as def from pg_constraint where conname = ${fk.conname} and conrelid = ${fk.tbl}::regclass`.execute(db);
        const m = /^FOREIGN KEY \(([^)]+)\) REFERENCES ([^(]+)\(([^)]+)\)/.exec(def.rows[0]!.def);
        if (!m) continue;
        const [cols, ref, refCols] = [m[1]!.split(', '), m[2]!, m[3]!.split(', ')];
        const orphans = await sql
          .raw<{ n: string }>(
            `select count(*) as n from ${fk.tbl} c where ${cols.map((col) => `c.${col} is not null`).join(' and ')} and not exists (select 1 from ${ref} p where ${cols.map((col, i) => `p.${refCols[i]} = c.${col}`).join(' and ')})`,
          )
          .execute(db);
        expect(Number(orphans.rows[0]!.n), `${fk.tbl}.${fk.conname}`).toBe(0);
      }
    }
  }

  async function auditChainsIntact(): Promise<void> {
    const tenants = await ctx.services.db.selectFrom('tenants').select('id').execute();
    expect(tenants.length).toBeGreaterThan(0);
    const env = { DATABASE_URL: ctx.services.config.databaseUrl, POSTERN_SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'silent', NODE_ENV: 'test' };
    for (const t of tenants) {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s) };
      const code = await runCli(['node', 'postern', 'audit', 'verify', '--tenant', t.id, '--json'], io, env);
      expect({ code, err: err.join('\n') }, out.join('\n')).toEqual({ code: 0, err: '' });
      expect(JSON.parse(out.join('\n'))).toMatchObject({ tenantId: t.id, ok: true });
    }
  }

  it(`${RUNS} generated requests: no 5xx, each answered within ${REQUEST_BOUND_MS} ms; then the database and every audit chain are intact`, async () => {
    const started = performance.now();
    const statuses = new Map<number, number>();
    const refused = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(requestArbitrary(), async (request) => {
        errorLines.length = 0;
        const res = await injectWithin(request);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (VALID_AUTH.includes(request.as as (typeof VALID_AUTH)[number]) && res.statusCode === 401) refused.set(request.as, (refused.get(request.as) ?? 0) + 1);
        expect(res.statusCode, `${request.method} ${request.url}: ${res.body.slice(0, 300)}\n${errorLines.join('').slice(0, 2000)}`).toBeLessThan(500);
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    const seconds = (performance.now() - started) / 1000;
    // the run reached real work, not only refusals
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    console.info(`[fuzz ${dialect}] ${RUNS} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; 401 with valid credentials ${JSON.stringify(Object.fromEntries(refused))}`);
    await databaseIntact();
    await auditChainsIntact();
  }, 600_000);
});
