import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { getPasswordPolicy, updatePasswordPolicy } from '../../../domain/policies.js';
import type { PasswordPolicy } from '../../../domain/password-policy.js';
import type { Services } from '../../../services.js';
import { authorize, requestContext } from '../../auth.js';
import { doc } from '../../openapi.js';

/**
 * Each field on its own; the rules between fields (minimum length per profile, maxLength ≥
 * minLength, notification window ≤ validity, premium for the custom list) are the use case's, on
 * the merged policy. Zod names the failing field in the error (see http/errors.ts).
 */
const int = (min: number, max: number) => z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const bannedTerm = z
  .string()
  .trim()
  .refine((t) => [...t].length >= 4 && [...t].length <= 16, 'each term must be 4 to 16 characters')
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .refine((t) => !/[\u0000-\u001f\u007f]/.test(t), 'terms may not contain control characters');

const patchBody = z
  .strictObject({
    profile: z.enum(['azure', 'nist']),
    minLength: int(8, 256),
    maxLength: int(8, 256),
    expiresAfterDays: int(1, 730).nullable(),
    notificationWindowDays: int(1, 30),
    historyCount: int(0, 24),
    customBannedPasswords: z
      .array(bannedTerm)
      .max(1000, 'at most 1000 terms')
      // case-insensitive, like Azure: the first spelling of a term is kept
      .transform((terms) => terms.filter((t, i) => terms.findIndex((u) => u.toLowerCase() === t.toLowerCase()) === i)),
    enforceCustomBannedPasswords: z.boolean(),
    lockoutThreshold: int(1, 100),
    lockoutDurationSeconds: int(5, 86_400),
    expiryReminderDays: z
      .array(int(1, 30))
      .max(30)
      .refine((days) => days.every((d, i) => i === 0 || d < days[i - 1]!), 'must be distinct days in descending order, e.g. [14, 7, 3, 1]'),
  })
  .partial();

/** GET|PATCH /api/v1/policies/password (SPEC 4.5): admins only, every change audited. */
export function passwordPolicyRoutes(app: FastifyInstance, services: Services): void {
  app.get('/api/v1/policies/password', doc({ summary: 'Read the password policy', tags: ['Policies'], auth: 'admin', responses: { 200: 'The policy', 401: 'Not signed in', 403: 'Needs Global Administrator or Authentication Policy Administrator (apps: Policy.ReadWrite.AuthenticationMethod)' } }), async (request, reply) => {
    const principal = await authorize(services, request, 'policies.password');
    return noStore(reply).send(view(await getPasswordPolicy(services, principal.tenantId)));
  });

  app.patch('/api/v1/policies/password', doc({ summary: 'Change the password policy (fields merge; audited with old and new values)', tags: ['Policies'], auth: 'admin', body: patchBody, responses: { 200: 'The policy after the change', 400: 'A field or a rule between fields is wrong; the error names it', 403: 'Not allowed' } }), async (request, reply) => {
    const principal = await authorize(services, request, 'policies.password');
    const patch = patchBody.parse(request.body);
    const policy = await updatePasswordPolicy(services, requestContext(request, principal), principal.tenantId, patch);
    return noStore(reply).send(view(policy));
  });
}

/** Exactly the SPEC's fields, in its order. */
function view(p: PasswordPolicy) {
  return {
    profile: p.profile,
    minLength: p.minLength,
    maxLength: p.maxLength,
    expiresAfterDays: p.expiresAfterDays,
    notificationWindowDays: p.notificationWindowDays,
    historyCount: p.historyCount,
    customBannedPasswords: [...p.customBannedPasswords],
    enforceCustomBannedPasswords: p.enforceCustomBannedPasswords,
    lockoutThreshold: p.lockoutThreshold,
    lockoutDurationSeconds: p.lockoutDurationSeconds,
    expiryReminderDays: [...p.expiryReminderDays],
  };
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
