import type { GraphUser, GraphUserDefaults } from '../store/users.js';

/**
 * Directory objects in Microsoft Graph's JSON shape. Only named properties are ever read from the
 * domain object, so password hashes and lockout state cannot leak into an answer by accident; the
 * Graph user routes do not even read them (src/store/users.ts, GraphUser).
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

// The default properties take only GraphUserDefaults (DEFAULT_PROPERTIES checks it): a Graph read
// without $select needs no more columns.
const USER_PROPERTIES = {
  id: (u: GraphUserDefaults) => u.id,
  businessPhones: (u: GraphUserDefaults) => u.businessPhones,
  displayName: (u: GraphUserDefaults) => u.displayName,
  givenName: (u: GraphUserDefaults) => u.givenName,
  jobTitle: (u: GraphUserDefaults) => u.jobTitle,
  mail: (u: GraphUserDefaults) => u.mail,
  mobilePhone: (u: GraphUserDefaults) => u.mobilePhone,
  surname: (u: GraphUserDefaults) => u.surname,
  userPrincipalName: (u: GraphUserDefaults) => u.userPrincipalName,
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
} as const satisfies Record<string, (u: GraphUser) => unknown>;

const DEFAULT_PROPERTIES: Readonly<Record<(typeof USER_DEFAULT_PROPERTIES)[number], (u: GraphUserDefaults) => unknown>> = USER_PROPERTIES;

export type UserProperty = keyof typeof USER_PROPERTIES;
export const USER_SELECTABLE = Object.keys(USER_PROPERTIES) as UserProperty[];

/**
 * The user as Graph JSON: the default property set, or exactly the selected properties in the order
 * asked. The default set needs only the default properties' columns (GraphUserDefaults).
 */
export function graphUser(user: GraphUserDefaults): Record<string, unknown>;
export function graphUser(user: GraphUser, select?: readonly UserProperty[]): Record<string, unknown>;
export function graphUser(user: GraphUserDefaults | GraphUser, select?: readonly UserProperty[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!select) {
    for (const name of USER_DEFAULT_PROPERTIES) out[name] = DEFAULT_PROPERTIES[name](user);
    return out;
  }
  // the overloads give a GraphUser whenever a $select is passed
  for (const name of select) out[name] = USER_PROPERTIES[name](user as GraphUser);
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
