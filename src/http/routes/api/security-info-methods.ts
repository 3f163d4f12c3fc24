import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listQuestionCatalog, registerSecurityQuestions } from '../../../domain/security-info/questions.js';
import { generateRecoveryCodes, recoveryCodesStatus } from '../../../domain/security-info/recovery-codes.js';
import { deleteAuthenticator, startAuthenticatorRegistration, verifyAuthenticator } from '../../../domain/security-info/totp.js';
import { questionLocaleOf } from '../../../domain/security-questions-catalog.js';
import type { Services } from '../../../services.js';
import { BASE, noStore, requestLocale, signedInUser } from './security-info.js';
import { doc } from '../../openapi.js';

const answer = z.string().max(400);
const answersBody = z.strictObject({
  answers: z
    .array(
      z.union([
        z.strictObject({ questionId: z.string().min(1).max(64), answer }),
        z.strictObject({ customQuestion: z.string().min(1).max(200), answer }),
      ]),
    )
    .max(20),
});
const catalogQuery = z.strictObject({ locale: z.string().max(35).optional() });
const totpBody = z.strictObject({ code: z.string().min(1).max(16) });

/** Security questions, authenticator app and recovery codes of the signed-in user. */
export function securityInfoMethodRoutes(app: FastifyInstance, services: Services): void {
  app.get(`${BASE}/security-questions/catalog`, doc({ summary: 'The predefined questions in the requested language, the tenant custom ones, and how many to register', tags: ['Security info'], auth: 'user', querystring: catalogQuery, responses: { 200: 'The catalogue' } }), async (request, reply) => {
    const { me } = await signedInUser(services, request);
    const { locale } = catalogQuery.parse(request.query);
    return noStore(reply).send(await listQuestionCatalog(services, me, questionLocaleOf(locale ?? requestLocale(request))));
  });

  app.put(`${BASE}/security-questions`, doc({ summary: 'Register security questions and answers (replaces the set; answers are stored hashed)', tags: ['Security info'], auth: 'user', body: answersBody, responses: { 204: 'Registered', 400: 'Too few questions, a repeated question or answer, or an answer of the wrong length' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    const body = answersBody.parse(request.body);
    await registerSecurityQuestions(services, ctx, me, body.answers);
    return reply.code(204).send();
  });

  app.post(`${BASE}/authenticator`, doc({ summary: 'Start registering an authenticator app: the TOTP secret as text, otpauth URI and QR code', tags: ['Security info'], auth: 'user', responses: { 201: 'Enrolment started; confirm it with a code' } }), async (request, reply) => {
    const { me } = await signedInUser(services, request);
    const e = await startAuthenticatorRegistration(services, me);
    return noStore(reply).code(201).send({ secret: e.secret, otpauthUri: e.otpauthUri, qrCodeSvg: e.qrCodeSvg });
  });

  app.post(`${BASE}/authenticator/verify`, doc({ summary: 'Confirm the authenticator app with a current code', tags: ['Security info'], auth: 'user', body: totpBody, responses: { 204: 'Registered', 400: 'Wrong or reused code' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await verifyAuthenticator(services, ctx, me, totpBody.parse(request.body).code);
    return reply.code(204).send();
  });

  app.delete(`${BASE}/authenticator`, doc({ summary: 'Remove the authenticator app', tags: ['Security info'], auth: 'user', responses: { 204: 'Removed', 404: 'None registered' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await deleteAuthenticator(services, ctx, me);
    return reply.code(204).send();
  });

  app.post(`${BASE}/recovery-codes`, doc({ summary: 'Make ten new single-use recovery codes (shown once; older ones stop working)', tags: ['Security info'], auth: 'user', responses: { 201: 'The codes' } }), async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    const codes = await generateRecoveryCodes(services, ctx, me);
    return noStore(reply).code(201).send({ codes });
  });

  app.get(`${BASE}/recovery-codes`, doc({ summary: 'How many recovery codes are left (never the codes)', tags: ['Security info'], auth: 'user', responses: { 200: '{total, remaining}' } }), async (request, reply) => {
    const { me } = await signedInUser(services, request);
    return noStore(reply).send(await recoveryCodesStatus(services, me));
  });
}
