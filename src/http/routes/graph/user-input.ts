import { z } from 'zod';

/**
 * Request bodies of the Graph users resource. Objects are strict: a property Postern does not know
 * is refused with its name rather than silently dropped. Passwords are plain strings here; their
 * length and content are the password policy's business (checked before hashing, with its own error).
 */

const PASSWORD_POLICY_VALUES = ['None', 'DisablePasswordExpiration', 'DisableStrongPassword'] as const;

/** Graph's comma-separated `passwordPolicies`, normalised to "A, B"; "None" stands alone. */
const passwordPolicies = z
  .string()
  .max(128)
  .transform((value, ctx) => {
    const parts = value.split(',').map((p) => p.trim());
    const canonical = parts.map((p) => PASSWORD_POLICY_VALUES.find((v) => v.toLowerCase() === p.toLowerCase()));
    const bad = parts.find((_, i) => canonical[i] === undefined);
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `'${bad.slice(0, 40)}' is not one of ${PASSWORD_POLICY_VALUES.join(', ')}` });
      return z.NEVER;
    }
    const unique = [...new Set(canonical as string[])];
    if (unique.length !== parts.length || (unique.includes('None') && unique.length > 1)) {
      ctx.addIssue({ code: 'custom', message: 'list each policy once, and use None alone' });
      return z.NEVER;
    }
    return unique.join(', ');
  });

const email = z.string().max(256).regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address');
const phone = z.string().min(1).max(64);
const name = (max: number) => z.string().max(max);

/** Writable on create and update (the password profile aside). */
const profile = {
  displayName: z.string().trim().min(1, 'must not be empty').max(256),
  givenName: name(64).nullable(),
  surname: name(64).nullable(),
  mail: email.nullable(),
  otherMails: z.array(email).max(10),
  mobilePhone: phone.nullable(),
  // Graph: "Only one number can be set for this property."
  businessPhones: z.array(phone).max(1, 'only one number can be set'),
  jobTitle: name(128).nullable(),
  passwordPolicies: passwordPolicies.nullable(),
  onPremisesImmutableId: z.string().min(1).max(256).nullable(),
  userPrincipalName: z.string().max(1024),
  accountEnabled: z.boolean(),
  // accepted for Graph compatibility (SDK scripts always send it); Postern does not keep it
  mailNickname: z.string().max(64),
};

const passwordProfileFlags = {
  forceChangePasswordNextSignIn: z.boolean().optional(),
  forceChangePasswordNextSignInWithMfa: z.boolean().optional(),
};

/** Everything optional but what Graph requires on create. */
const optionalProfile = z
  .strictObject({ '@odata.type': z.literal('#microsoft.graph.user'), ...profile })
  .partial();

export const createUserBody = optionalProfile.extend({
  displayName: profile.displayName,
  userPrincipalName: profile.userPrincipalName,
  accountEnabled: profile.accountEnabled,
  passwordProfile: z.strictObject({ password: z.string(), ...passwordProfileFlags }),
});
export type CreateUserBody = z.infer<typeof createUserBody>;

export const updateUserBody = optionalProfile.extend({
  passwordProfile: z.strictObject({ password: z.string().optional(), ...passwordProfileFlags }).optional(),
});
export type UpdateUserBody = z.infer<typeof updateUserBody>;
