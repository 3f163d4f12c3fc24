import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RequestContext } from '../../../domain/audit.js';
import { createCaptcha, captchaMaxNumberFor } from '../../../domain/sspr/captcha.js';
import { completeVerification } from '../../../domain/sspr/complete.js';
import { contactAdmin } from '../../../domain/sspr/contact.js';
import { cancelFlow, resetPassword, unlockAccount } from '../../../domain/sspr/finish.js';
import { startFlow, type SsprDeps } from '../../../domain/sspr/flows.js';
import { startVerification } from '../../../domain/sspr/verify.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import { requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';
import { toAppError } from '../../errors.js';
import { assertSameOrigin } from '../../session-auth.js';
import { noStore, requestLocale } from './security-info.js';

const BASE = '/api/v1/sspr';
const METHODS = ['email', 'mobileSms', 'mobileCall', 'officeCall', 'securityQuestions', 'appCode', 'appNotification', 'recoveryCode'] as const;

const startBody = z.strictObject({ userPrincipalName: z.string().min(1).max(320), captcha: z.string().min(1).max(8192) });
const verificationBody = z.strictObject({ method: z.enum(METHODS), phoneNumber: z.string().min(3).max(40).optional() });
const completeBody = z.union([
  z.strictObject({ code: z.string().min(1).max(64) }),
  z.strictObject({ answers: z.array(z.strictObject({ id: z.string().min(1).max(16), answer: z.string().min(1).max(200) })).min(1).max(5) }),
]);
const passwordBody = z.strictObject({ newPassword: z.string().max(4096) });
const flowParams = z.strictObject({ flowId: z.string().min(16).max(128) });
const methodParams = z.strictObject({ flowId: z.string().min(16).max(128), method: z.enum(METHODS) });
/** bodies of the action endpoints: nothing, or an empty object */
const emptyBody = z.strictObject({}).optional();

/**
 * The self-service password reset flow (SPEC 4.5). No sign-in: the flow id is the only handle. Every
 * error carries `details.supportCode` (the request id) for the help desk, and `details.ssprCode` where
 * Azure has one (SSPR_0009–0014, 0030).
 */
export function ssprFlowRoutes(app: FastifyInstance, services: Services): void {
  const deps: SsprDeps = { ...services, captchaMaxNumber: captchaMaxNumberFor(services.config.nodeEnv), smsBudget: services.config.ssprSmsBudget };
  const anonymous = (request: FastifyRequest): RequestContext => requestContext(request, null);
  const handle =
    (fn: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      try {
        // No cookie rides on a flow (its id is the handle), but a browser's cross-site write is
        // refused anyway: nothing legitimate posts a flow step from another site (CSRF, case 15).
        if (request.method !== 'GET') assertSameOrigin(services, request);
        return await fn(request, reply);
      } catch (err) {
        const e = toAppError(err);
        if (e.code === 'internal') throw err;
        if (e.code === 'sspr.sms_budget') {
          // operators watch this: a spent budget is either a busy office or a toll-fraud run
          const scope = e.data?.['scope'] === 'ip' ? 'ip' : 'prefix';
          app.metrics.ssprSmsRefusals.inc({ scope });
          request.log.warn({ scope, limit: e.data?.['limit'] }, 'SSPR text/call refused: budget spent');
        }
        throw new AppError(e.code, { message: e.message, data: { ...e.data, supportCode: request.id } });
      }
    };

  // Every answer about a flow takes at least SSPR_MIN_RESPONSE_MS, so a real account and a decoy (and
  // the branches inside each) cannot be told apart by how long the server took, as long as the real
  // work stays below the floor (bench/sspr-decoy.ts measures both sides).
  const minResponseMs = services.config.ssprMinResponseMs;
  const evenPaced = {
    onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const wait = minResponseMs - reply.elapsedTime;
      if (wait > 0) await delay(wait);
      return payload;
    },
  };

  app.get(`${BASE}/captcha`, doc({ summary: 'An ALTCHA proof-of-work challenge for starting a flow', tags: ['Self-service password reset'], auth: 'none', responses: { 200: 'The challenge (altcha-lib format)' } }), handle(async (_request, reply) => noStore(reply).send(await createCaptcha(deps))));

  app.post(
    `${BASE}/flows`,
    { ...evenPaced, ...doc({ summary: 'Start a reset or unlock flow for a user name (unknown names get a decoy that looks the same)', tags: ['Self-service password reset'], auth: 'none', body: startBody, responses: { 201: '{flowId, expiresAt, requiredVerifications, intents, methods[{method, target}]} with masked targets', 400: 'Bad body', 403: 'Not eligible: details.ssprCode SSPR_0009–0014', 429: 'Blocked for 24 hours' } }) },
    handle(async (request, reply) => {
      const body = startBody.parse(request.body);
      return noStore(reply).code(201).send(await startFlow(deps, anonymous(request), body));
    }),
  );

  app.post(
    `${BASE}/flows/:flowId/verifications`,
    { ...evenPaced, ...doc({ summary: 'Start a verification: send a code, or get the security questions (phone methods need the number on file typed)', tags: ['Self-service password reset'], auth: 'none', params: flowParams, body: verificationBody, responses: { 200: 'The questions to answer', 202: 'Code sent', 400: 'Method not offered, or the typed number is not the one on file', 404: 'No such live flow', 429: 'Too many codes, a spent SMS budget, or blocked' } }) },
    handle(async (request, reply) => {
      const { flowId } = flowParams.parse(request.params);
      const body = verificationBody.parse(request.body);
      const answer = await startVerification(deps, anonymous(request), flowId, { ...body, locale: requestLocale(request) });
      if (answer.kind === 'questions') return noStore(reply).code(200).send({ questions: answer.questions });
      return noStore(reply).code(202).send({ method: answer.method, expiresAt: answer.expiresAt });
    }),
  );

  app.post(
    `${BASE}/flows/:flowId/verifications/:method/complete`,
    { ...evenPaced, ...doc({ summary: 'Complete a verification with the code or the answers', tags: ['Self-service password reset'], auth: 'none', params: methodParams, body: completeBody, responses: { 200: '{verified, required}', 400: 'Wrong code or answers (details.attemptsRemaining)', 404: 'No such live flow', 429: 'Blocked' } }) },
    handle(async (request, reply) => {
      const { flowId, method } = methodParams.parse(request.params);
      const body = completeBody.parse(request.body);
      return noStore(reply).send(await completeVerification(deps, anonymous(request), flowId, method, body));
    }),
  );

  app.post(
    `${BASE}/flows/:flowId/password`,
    { ...evenPaced, ...doc({ summary: 'Set the new password once every required verification passed', tags: ['Self-service password reset'], auth: 'none', params: flowParams, body: passwordBody, responses: { 200: '{result: "Succeeded"}', 403: 'Not verified yet', 503: 'The on-premises directory could not be reached (SSPR_0030)', 400: 'The password breaks the policy, or the on-premises directory refused it (writeback.refused names the reason)' } }) },
    handle(async (request, reply) => {
      const { flowId } = flowParams.parse(request.params);
      const { newPassword } = passwordBody.parse(request.body);
      await resetPassword(deps, anonymous(request), flowId, newPassword);
      return noStore(reply).send({ result: 'Succeeded' });
    }),
  );

  app.post(
    `${BASE}/flows/:flowId/unlock`,
    { ...evenPaced, ...doc({ summary: 'Unlock the account without changing the password (when the policy allows it)', tags: ['Self-service password reset'], auth: 'none', params: flowParams, responses: { 200: '{result: "Succeeded"}', 403: 'Not verified, or unlock is not offered' } }) },
    handle(async (request, reply) => {
      const { flowId } = flowParams.parse(request.params);
      emptyBody.parse(request.body ?? undefined);
      await unlockAccount(deps, anonymous(request), flowId);
      return noStore(reply).send({ result: 'Succeeded' });
    }),
  );

  app.post(
    `${BASE}/flows/:flowId/contact-admin`,
    { ...evenPaced, ...doc({ summary: 'Contact your administrator: the help desk link or email, or a message to the password, user or global admins', tags: ['Self-service password reset'], auth: 'none', params: flowParams, responses: { 200: 'Where the request went' } }) },
    handle(async (request, reply) => {
      const { flowId } = flowParams.parse(request.params);
      emptyBody.parse(request.body ?? undefined);
      return noStore(reply).send(await contactAdmin(deps, anonymous(request), flowId));
    }),
  );

  app.delete(
    `${BASE}/flows/:flowId`,
    { ...evenPaced, ...doc({ summary: 'Cancel the flow', tags: ['Self-service password reset'], auth: 'none', params: flowParams, responses: { 204: 'Cancelled', 404: 'No such live flow' } }) },
    handle(async (request, reply) => {
      const { flowId } = flowParams.parse(request.params);
      await cancelFlow(deps, anonymous(request), flowId);
      return reply.code(204).send();
    }),
  );
}
