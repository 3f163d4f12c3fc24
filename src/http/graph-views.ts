import type { User } from '../store/users.js';

/**
 * Directory objects in Microsoft Graph's JSON shape. Only named properties are ever read from the
 * domain object, so password hashes and lockout state cannot leak into an answer by accident.
 */

/** What Graph returns for a user when no $select is given. */
export const USER_DEFAULT_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const;

const USER_PROPERTIES = {
  id: (u) => u.id,
  businessPhones: (u) => u.businessPhones,
  displayName: (u) => u.displayName,
  givenName: (u) => u.givenName,
  jobTitle: (u) => u.jobTitle,
  mail: (u) => u.mail,
  mobilePhone: (u) => u.mobilePhone,
  surname: (u) => u.surname,
  userPrincipalName: (u) => u.userPrincipalName,
  accountEnabled: (u) => u.accountEnabled,
  otherMails: (u) => u.otherMails,
  passwordPolicies: (u) => u.passwordPolicies,
  // Graph never returns the password; the flags are the readable part of the profile
  passwordProfile: (u) => ({
    password: null,
    forceChangePasswordNextSignIn: u.forceChangePasswordNextSignIn,
    forceChangePasswordNextSignInWithMfa: u.forceChangePasswordNextSignInWithMfa,
  }),
  lastPasswordChangeDateTime: (u) => u.lastPasswordChangeDateTime,
  createdDateTime: (u) => u.createdDateTime,
  onPremisesSyncEnabled: (u) => u.onPremisesSyncEnabled,
  onPremisesImmutableId: (u) => u.onPremisesImmutableId,
  userType: () => 'Member',
  // Graph properties Postern does not keep: selectable (so Graph scripts keep working), always null
  officeLocation: () => null,
  preferredLanguage: () => null,
  mailNickname: () => null,
  department: () => null,
  companyName: () => null,
  employeeId: () => null,
  usageLocation: () => null,
  city: () => null,
  country: () => null,
  state: () => null,
  streetAddress: () => null,
  postalCode: () => null,
} as const satisfies Record<string, (u: User) => unknown>;

export type UserProperty = keyof typeof USER_PROPERTIES;
export const USER_SELECTABLE = Object.keys(USER_PROPERTIES) as UserProperty[];

/** The user as Graph JSON: the default property set, or exactly the selected properties in the order asked. */
export function graphUser(user: User, select?: readonly UserProperty[]): Record<string, unknown> {
  const names = select ?? USER_DEFAULT_PROPERTIES;
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = USER_PROPERTIES[name](user);
  return out;
}

/**
 * `@odata.context` as Graph writes it: `<base>/v1.0/$metadata#users`, with the selected properties
 * in parentheses and `/$entity` for a single object.
 */
export function odataContext(publicUrl: string, entitySet: string, select: readonly string[] | undefined, single: boolean): string {
  const projection = select ? `(${select.join(',')})` : '';
  return `${publicUrl}/v1.0/$metadata#${entitySet}${projection}${single ? '/$entity' : ''}`;
}
