import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listQuestionCatalog, registerSecurityQuestions } from '../../../domain/security-info/questions.js';
import { generateRecoveryCodes, recoveryCodesStatus } from '../../../domain/security-info/recovery-codes.js';
import { deleteAuthenticator, startAuthenticatorRegistration, verifyAuthenticator } from '../../../domain/security-info/totp.js';
import { questionLocaleOf } from '../../../domain/security-questions-catalog.js';
import type { Services } from '../../../services.js';
import { BASE, noStore, requestLocale, signedInUser } from './security-info.js';

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
  app.get(`${BASE}/security-questions/catalog`, async (request, reply) => {
    const { me } = await signedInUser(services, request);
    const { locale } = catalogQuery.parse(request.query);
    return noStore(reply).send(await listQuestionCatalog(services, me, questionLocaleOf(locale ?? requestLocale(request))));
  });

  app.put(`${BASE}/security-questions`, async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    const body = answersBody.parse(request.body);
    await registerSecurityQuestions(services, ctx, me, body.answers);
    return reply.code(204).send();
  });

  app.post(`${BASE}/authenticator`, async (request, reply) => {
    const { me } = await signedInUser(services, request);
    const e = await startAuthenticatorRegistration(services, me);
    return noStore(reply).code(201).send({ secret: e.secret, otpauthUri: e.otpauthUri, qrCodeSvg: e.qrCodeSvg });
  });

  app.post(`${BASE}/authenticator/verify`, async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await verifyAuthenticator(services, ctx, me, totpBody.parse(request.body).code);
    return reply.code(204).send();
  });

  app.delete(`${BASE}/authenticator`, async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    await deleteAuthenticator(services, ctx, me);
    return reply.code(204).send();
  });

  app.post(`${BASE}/recovery-codes`, async (request, reply) => {
    const { me, ctx } = await signedInUser(services, request);
    const codes = await generateRecoveryCodes(services, ctx, me);
    return noStore(reply).code(201).send({ codes });
  });

  app.get(`${BASE}/recovery-codes`, async (request, reply) => {
    const { me } = await signedInUser(services, request);
    return noStore(reply).send(await recoveryCodesStatus(services, me));
  });
}
