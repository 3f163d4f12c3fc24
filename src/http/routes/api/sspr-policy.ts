import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { PredefinedQuestionsView, SsprPolicyView } from '../../../contracts/sspr-policy.js';
import { SSPR_METHODS, type SsprMethod, type SsprPolicy } from '../../../domain/sspr-policy.js';
import { getSsprPolicy, updateSsprPolicy } from '../../../domain/sspr-policy-update.js';
import { questionLocaleOf, SECURITY_QUESTIONS } from '../../../domain/security-questions-catalog.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { requestLocale } from './security-info.js';
import { doc } from '../../openapi.js';

/**
 * Each field on its own (reference §1.2–1.8, appendix A); the rules between fields (methods
 * against methodsRequired, the app constraints, toReset ≤ toRegister, the group, the edition) are
 * the use case's, on the merged policy. Zod names the failing field in the error (http/errors.ts).
 */
const int = (min: number, max: number) => z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

const customQuestion = z
  .string()
  .trim()
  .refine((t) => [...t].length >= 3 && [...t].length <= 200, 'each custom question must be 3 to 200 characters')
  .refine((t) => !CONTROL.test(t), 'custom questions may not contain control characters');

const securityQuestions = z
  .strictObject({
    toRegister: int(3, 5),
    toReset: int(3, 5),
    custom: z
      .array(customQuestion)
      .max(20, 'at most 20 custom questions')
      .refine((qs) => new Set(qs.map((q) => q.toLocaleLowerCase())).size === qs.length, 'each custom question may appear only once'),
    // ids of the catalogue (GET /api/v1/policies/sspr/predefined-questions); which ids exist, and
    // that none repeats, is the use case's check (it names the id)
    predefined: z.array(z.string().min(1, 'must be a question id').max(64, 'must be a question id')).max(200, 'at most 200 questions'),
  })
  .partial();

const helpdeskUrl = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http or https URL')
  .nullable();

// Unicode addresses are allowed (reference §1.3); one @, no spaces, a dot in the domain.
const helpdeskEmail = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .regex(/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/, 'must be an email address')
  .nullable();

const patchBody = z
  .strictObject({
    enabledFor: z.enum(['none', 'selected', 'all']),
    groupId: z
      .string()
      .min(1)
      .max(128)
      .transform((v) => v.toLowerCase())
      .nullable(),
    methodsRequired: z.union([z.literal(1), z.literal(2)], 'must be 1 or 2'),
    methods: z
      .array(z.enum(SSPR_METHODS as [SsprMethod, ...SsprMethod[]]))
      .min(1, 'at least one method must be available')
      .refine((ms) => new Set(ms).size === ms.length, 'each method may appear only once'),
    securityQuestions,
    requireRegistrationOnSignIn: z.boolean(),
    reconfirmAfterDays: int(0, 730),
    notifyUserOnReset: z.boolean(),
    notifyAdminsOnAdminReset: z.boolean(),
    helpdeskUrl,
    helpdeskEmail,
    allowUnlockWithoutReset: z.boolean(),
    writebackEnabled: z.boolean(),
  })
  .partial();

const catalogQuery = z.strictObject({ locale: z.string().max(35).optional() });

/** GET|PATCH /api/v1/policies/sspr (SPEC 4.5): admins only, every change audited. */
export function ssprPolicyRoutes(app: FastifyInstance, services: Services): void {
  app.get('/api/v1/policies/sspr', doc({ summary: 'Read the self-service password reset policy', tags: ['Policies'], auth: 'admin', responses: { 200: 'The policy', 401: 'Not signed in', 403: 'Not allowed' } }), async (request, reply) => {
    const principal = await authorize(services, request, 'policies.sspr');
    return noStore(reply).send(view(await getSsprPolicy(services, principal.tenantId)));
  });

  app.patch('/api/v1/policies/sspr', doc({ summary: 'Change the SSPR policy (fields merge; Azure validation rules; audited with old and new values)', tags: ['Policies'], auth: 'admin', body: patchBody, responses: { 200: 'The policy after the change', 400: 'A field or a rule between fields is wrong; the error names it', 403: 'Not allowed, or the edition lacks the feature' } }), async (request, reply) => {
    const principal = await authorize(services, request, 'policies.sspr');
    const patch = patchBody.parse(request.body);
    const policy = await updateSsprPolicy(services, requestContext(request, principal), principal.tenantId, patch);
    return noStore(reply).send(view(policy));
  });

  // Every predefined question, selected or not, so the admin can choose (the user's catalogue
  // answers only the selected ones).
  app.get('/api/v1/policies/sspr/predefined-questions', doc({ summary: 'Every predefined security question (id and text in the requested language), for securityQuestions.predefined', tags: ['Policies'], auth: 'admin', querystring: catalogQuery, responses: { 200: 'The catalogue of predefined questions', 401: 'Not signed in', 403: 'Not allowed' } }), async (request, reply) => {
    await authorize(services, request, 'policies.sspr');
    const locale = questionLocaleOf(catalogQuery.parse(request.query).locale ?? requestLocale(request));
    const body: PredefinedQuestionsView = { value: SECURITY_QUESTIONS.map((q) => ({ id: q.id, text: q[locale] })) };
    return noStore(reply).send(body);
  });
}

/** Exactly the SPEC's fields, in its order. */
function view(p: SsprPolicy): SsprPolicyView {
  return {
    enabledFor: p.enabledFor,
    groupId: p.groupId,
    methodsRequired: p.methodsRequired,
    methods: [...p.methods],
    securityQuestions: { toRegister: p.securityQuestions.toRegister, toReset: p.securityQuestions.toReset, custom: [...p.securityQuestions.custom], predefined: [...p.securityQuestions.predefined] },
    requireRegistrationOnSignIn: p.requireRegistrationOnSignIn,
    reconfirmAfterDays: p.reconfirmAfterDays,
    notifyUserOnReset: p.notifyUserOnReset,
    notifyAdminsOnAdminReset: p.notifyAdminsOnAdminReset,
    helpdeskUrl: p.helpdeskUrl,
    helpdeskEmail: p.helpdeskEmail,
    allowUnlockWithoutReset: p.allowUnlockWithoutReset,
    writebackEnabled: p.writebackEnabled,
  };
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
