import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deleteEmail, deletePhone, startEmailRegistration, startPhoneRegistration, verifyEmailRegistration, verifyPhoneRegistration } from '../../../domain/security-info/contact.js';
import type { Me } from '../../../domain/security-info/events.js';
import { confirmSecurityInfo, getSecurityInfo } from '../../../domain/security-info/overview.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { authenticate, requestContext } from '../../auth.js';
import { securityInfoMethodRoutes } from './security-info-methods.js';
import type { RequestContext } from '../../../domain/audit.js';
import { doc } from '../../openapi.js';

export const BASE = '/api/v1/me/security-info';

const emailBody = z.strictObject({ address: z.email().max(254) });
const phoneBody = z.strictObject({
  type: z.enum(['mobile', 'alternateMobile']),
  number: z.string().min(3).max(40),
  method: z.enum(['sms', 'voice']).optional(),
});
const verifyBody = z.strictObject({ verificationId: z.string().min(1).max(64), code: z.string().min(1).max(32) });
const phoneTypeParam = z.strictObject({ type: z.enum(['mobile', 'alternateMobile', 'office']) });

/** The signed-in user (web session or delegated token); an application has no security info. */
export async function signedInUser(services: Services, request: FastifyRequest): Promise<{ me: Me; ctx: RequestContext }> {
  const principal = await authenticate(services, request);
  if (principal.kind !== 'user') throw new AppError('auth.delegated_only', { message: 'Security info belongs to a signed-in user: use a delegated token or a web session.' });
  return { me: { tenantId: principal.tenantId, userId: principal.userId }, ctx: requestContext(request, principal) };
}

/** The first language of Accept-Language, for the message that carries the code. */
export function requestLocale(request: FastifyRequest): string | null {
  const header = request.headers['accept-language'];
  return typeof header === 'string' ? (header.split(',')[0]?.split(';')[0]?.trim() ?? null) : null;
}

export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

/** /api/v1/me/security-info: overview, email and phones verified by a code. */
export function securityInfoRoutes(app: FastifyInstance, services: Services): void {
  app.get(BASE, doc({ summary: 'What the signed-in user has registered, masked, and whether SSPR registration is complete or due', tags: ['Security info'], auth: 'user', responses: { 200: 'The overview', 401: 'Not signed in' } }), async (request, reply) => {
    const { me } = await signedInUser(services, request);
    return noStore(reply).send(await getSecurityInfo(services, me));
  });

  app.post(`${BASE}/confirm`, doc({ summary: 'Confirm the registered security info is still right (the reconfirmation prompt)', tags: ['Security info'], auth: 'user', responses: { 204: 'Confirmed' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await confirmSecurityInfo(services, ctx, me);
    return reply.code(204).send();
  });

  app.post(`${BASE}/email`, doc({ summary: 'Start registering an email: a code is sent to it', tags: ['Security info'], auth: 'user', body: emailBody, responses: { 202: 'Code sent; {verificationId, expiresDateTime}', 400: 'Bad address', 429: 'Too many codes in the last hour' } }), async (request, reply) => {
    const { me } = await signedInUser(services, request);
    const body = emailBody.parse(request.body);
    const issued = await startEmailRegistration(services, me, { address: body.address, locale: requestLocale(request) });
    return noStore(reply).code(202).send({ verificationId: issued.id, expiresDateTime: issued.expiresAt });
  });

  app.post(`${BASE}/email/verify`, doc({ summary: 'Finish registering the email with the code it received', tags: ['Security info'], auth: 'user', body: verifyBody, responses: { 204: 'Registered', 400: 'Wrong, expired or spent code' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await verifyEmailRegistration(services, ctx, me, verifyBody.parse(request.body));
    return reply.code(204).send();
  });

  app.delete(`${BASE}/email`, doc({ summary: 'Remove the registered email', tags: ['Security info'], auth: 'user', responses: { 204: 'Removed', 404: 'None registered' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await deleteEmail(services, ctx, me);
    return reply.code(204).send();
  });

  app.post(`${BASE}/phone`, doc({ summary: 'Start registering a mobile or alternate mobile: a code is texted or read out', tags: ['Security info'], auth: 'user', body: phoneBody, responses: { 202: 'Code sent; {verificationId, expiresDateTime}', 400: 'Bad number', 429: 'Too many codes in the last hour' } }), async (request, reply) => {
    const { me } = await signedInUser(services, request);
    const body = phoneBody.parse(request.body);
    const issued = await startPhoneRegistration(services, me, { ...body, locale: requestLocale(request) });
    return noStore(reply).code(202).send({ verificationId: issued.id, expiresDateTime: issued.expiresAt });
  });

  app.post(`${BASE}/phone/verify`, doc({ summary: 'Finish registering the phone with the code it received', tags: ['Security info'], auth: 'user', body: verifyBody, responses: { 204: 'Registered', 400: 'Wrong, expired or spent code' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await verifyPhoneRegistration(services, ctx, me, verifyBody.parse(request.body));
    return reply.code(204).send();
  });

  app.delete(`${BASE}/phone/:type`, doc({ summary: 'Remove a registered phone', tags: ['Security info'], auth: 'user', params: phoneTypeParam, responses: { 204: 'Removed', 404: 'None of that type registered' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    const { type } = phoneTypeParam.parse(request.params);
    await deletePhone(services, ctx, me, type);
    return reply.code(204).send();
  });

  securityInfoMethodRoutes(app, services);
}
