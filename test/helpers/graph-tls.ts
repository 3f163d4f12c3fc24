import { Client, ResponseType } from '@microsoft/microsoft-graph-client';
import type { FastifyInstance } from 'fastify';
import { createTenant, systemContext, type CreatedTenant } from '../../src/domain/tenants.js';
import { createApp } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';
import type { Dialect } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { ADMIN_PASSWORD, createTestDatabase, testConfig, type TestDatabase } from './context.js';
import { freePort } from './spawn-server.js';
import { createTestCertificate, type TestCertificate } from './tls.js';

/** Azure PowerShell / Graph CLI's first-party public client id, which the password grant accepts. */
const PUBLIC_CLIENT_ID = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

/**
 * Postern listening over TLS on a free port with a throwaway certificate (trusted by this process's
 * dispatcher only), one tenant (contoso.test, admin admin@contoso.test / ADMIN_PASSWORD), and the
 * official Graph SDK pointed at it. The SDK attaches bearer tokens only to `customHosts`, hence TLS.
 */
export interface TlsPostern {
  services: Services;
  app: FastifyInstance;
  tenant: CreatedTenant;
  publicUrl: string;
  /** A delegated token from the real token endpoint (ROPC password grant). */
  passwordToken(upn: string, password: string): Promise<string>;
  /** The official Graph SDK client acting with this bearer token. */
  sdk(token: string): Client;
  close(): Promise<void>;
}

export async function startTlsPostern(dialect: Dialect): Promise<TlsPostern> {
  const cert: TestCertificate = createTestCertificate();
  const database: TestDatabase = await createTestDatabase(dialect);
  const port = await freePort();
  const publicUrl = `https://localhost:${port}`;
  const services = createServices(testConfig(database.url, { TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile, PUBLIC_URL: publicUrl }));
  await migrateToLatest(services.db);
  const tenant = await createTenant(services, systemContext(services), {
    name: 'Contoso',
    domain: 'contoso.test',
    adminUpn: 'admin@contoso.test',
    adminPassword: ADMIN_PASSWORD,
  });
  const app = await createApp(services, { logger: false });
  await app.listen({ port, host: '127.0.0.1' });

  return {
    services,
    app,
    tenant,
    publicUrl,
    passwordToken: async (upn, password) => {
      const res = await fetch(`${publicUrl}/${tenant.tenant.id}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', client_id: PUBLIC_CLIENT_ID, username: upn, password, scope: 'https://graph.microsoft.com/.default' }),
        dispatcher: cert.dispatcher,
      });
      const body = (await res.json()) as { access_token?: string };
      if (res.status !== 200 || !body.access_token) throw new Error(`token endpoint answered ${res.status} for ${upn}: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    sdk: (token) =>
      Client.initWithMiddleware({
        authProvider: { getAccessToken: async () => token },
        baseUrl: publicUrl,
        defaultVersion: 'v1.0',
        customHosts: new Set(['localhost']),
        fetchOptions: { dispatcher: cert.dispatcher },
      }),
    close: async () => {
      await app.close();
      await services.close();
      await database.drop();
      await cert.cleanup();
    },
  };
}

/** What one SDK call answered: the exact status, the Location header and, on an error, Graph's error object. */
export interface SdkOutcome {
  status: number;
  location: string | null;
  error: { code: string; message: string } | null;
}

/**
 * Sends through the SDK with ResponseType.RAW, so the exact status (204 vs 202) and headers are seen
 * rather than the SDK's parsed body or GraphError.
 */
export async function sdkSend(client: Client, method: 'post' | 'patch', path: string, body: unknown): Promise<SdkOutcome> {
  const request = client.api(path).responseType(ResponseType.RAW);
  const res = (await (method === 'post' ? request.post(body) : request.patch(body))) as Response;
  const text = await res.text();
  let error: SdkOutcome['error'] = null;
  if (!res.ok) {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    error = { code: String(parsed.error?.code), message: String(parsed.error?.message) };
  }
  return { status: res.status, location: res.headers.get('location'), error };
}
