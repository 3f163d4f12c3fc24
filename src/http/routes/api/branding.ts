import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DISPLAY_NAME_MAX, getBranding, publicBranding, removeLogo, setLogo, SIGN_IN_TEXT_MAX, updateBranding } from '../../../domain/branding.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';

/** A logo of 100 KB is about 137 KB of base64: above the API's default body limit. */
const LOGO_BODY_LIMIT_BYTES = 256 * 1024;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- the sign-in text keeps line breaks and tabs, nothing else
const CONTROL_BUT_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const publicQuery = z.object({ tenant: z.string().optional() });

const patchBody = z
  .strictObject({
    displayName: z
      .string()
      .max(DISPLAY_NAME_MAX, `must be at most ${DISPLAY_NAME_MAX} characters`)
      .refine((v) => !CONTROL.test(v), 'may not contain control characters')
      .nullable(),
    primaryColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour as #rrggbb').nullable(),
    signInText: z
      .string()
      .refine((v) => [...v].length <= SIGN_IN_TEXT_MAX, `must be at most ${SIGN_IN_TEXT_MAX} characters`)
      .refine((v) => !CONTROL_BUT_BREAKS.test(v), 'may not contain control characters other than line breaks')
      .nullable(),
  })
  .partial();

const logoBody = z.strictObject({
  contentType: z.string().min(1).max(100),
  dataBase64: z.string().min(1, 'must not be empty'),
});

/**
 * Company branding (issue 8): the public GET /api/v1/branding that the sign-in and reset pages read,
 * and the admin's GET|PATCH /api/v1/tenant/branding with PUT|DELETE …/logo.
 */
export function brandingRoutes(app: FastifyInstance, services: Services): void {
  app.get(
    '/api/v1/branding',
    doc({
      summary: "A tenant's branding for the sign-in and reset pages (public)",
      description:
        'tenant: a tenant id or one of its domains. Without it (or blank): the only tenant when there is exactly one, else Postern\'s defaults. A named tenant that does not exist is tenant.not_found, as for GET /api/v1/password-policy/hints.',
      tags: ['Branding'],
      auth: 'none',
      querystring: publicQuery,
      responses: {
        200: '{ tenantId, displayName, logoUrl, primaryColor, onPrimaryColor, helpdeskUrl, helpdeskEmail, signInText }',
        400: 'A malformed query such as a repeated tenant (request.invalid)',
        404: 'No tenant with that id or domain (tenant.not_found)',
      },
    }),
    async (request, reply) => {
      const { tenant } = publicQuery.parse(request.query);
      const view = await publicBranding(services, tenant);
      return reply.header('cache-control', 'no-cache').send(view);
    },
  );

  app.get(
    '/api/v1/tenant/branding',
    doc({ summary: "Read the tenant's company branding", tags: ['Branding'], auth: 'admin', responses: { 200: 'The branding, with which values are the tenant\'s own', 401: 'Not signed in', 403: 'Not allowed' } }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'branding.manage');
      return noStore(reply).send(await getBranding(services, principal.tenantId));
    },
  );

  app.patch(
    '/api/v1/tenant/branding',
    doc({
      summary: 'Change the company name, primary colour or sign-in text (fields merge; null restores the default; audited)',
      description: `primaryColor must let white or black text reach 4.5:1 on it, and reach 3:1 against the white page; onPrimaryColor is chosen by the server.`,
      tags: ['Branding'],
      auth: 'admin',
      body: patchBody,
      responses: { 200: 'The branding after the change', 400: 'A field is wrong, or the colour contrasts too little (branding.contrast_too_low)', 403: 'Not allowed' },
    }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'branding.manage');
      const patch = patchBody.parse(request.body);
      return noStore(reply).send(await updateBranding(services, requestContext(request, principal), principal.tenantId, patch));
    },
  );

  app.put(
    '/api/v1/tenant/branding/logo',
    {
      bodyLimit: LOGO_BODY_LIMIT_BYTES,
      ...doc({
        summary: 'Upload the company logo: a PNG or JPEG image of at most 100 KB, as base64 (audited)',
        description: 'SVG is refused (it can carry script); the type is checked against the file\'s first bytes.',
        tags: ['Branding'],
        auth: 'admin',
        body: logoBody,
        responses: { 200: 'The branding with the new logo', 400: 'Not a PNG or JPEG image, or not base64 (branding.logo_invalid)', 403: 'Not allowed', 413: 'Larger than 100 KB (branding.logo_too_large)' },
      }),
    },
    async (request, reply) => {
      const principal = await authorize(services, request, 'branding.manage');
      const body = logoBody.parse(request.body);
      return noStore(reply).send(await setLogo(services, requestContext(request, principal), principal.tenantId, body));
    },
  );

  app.delete(
    '/api/v1/tenant/branding/logo',
    doc({ summary: 'Remove the company logo (audited)', tags: ['Branding'], auth: 'admin', responses: { 200: 'The branding without a logo', 403: 'Not allowed' } }),
    async (request, reply) => {
      const principal = await authorize(services, request, 'branding.manage');
      return noStore(reply).send(await removeLogo(services, requestContext(request, principal), principal.tenantId));
    },
  );
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
