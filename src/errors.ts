/**
 * The closed registry of error codes. Every failure a caller can see is one of these: tests assert
 * the code, the HTTP layer maps it to a status and to the surface's body (Graph, Postern API, OAuth).
 * Messages are written for the person reading them and name the problem; `data` adds specifics
 * (never a secret).
 */
export const errorCodes = {
  // request shape
  'request.invalid_json': { status: 400, graph: 'BadRequest', message: 'The request body is not valid JSON.' },
  'request.invalid': { status: 400, graph: 'Request_BadRequest', message: 'The request is invalid.' },
  'request.unknown_property': { status: 400, graph: 'Request_BadRequest', message: 'The request names a property that does not exist on this resource.' },
  'request.too_large': { status: 413, graph: 'Request_EntityTooLarge', message: 'The request body is larger than the limit.' },
  'request.unsupported_media_type': { status: 415, graph: 'BadRequest', message: 'The request body must be application/json.' },
  'request.unsupported_query': { status: 400, graph: 'Request_UnsupportedQuery', message: 'The query is not supported.' },
  'request.not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The resource does not exist.' },
  'request.method_not_allowed': { status: 405, graph: 'Request_BadRequest', message: 'The method is not allowed on this resource.' },
  'request.rate_limited': { status: 429, graph: 'TooManyRequests', message: 'Too many requests. Try again later.' },

  // authentication / authorisation of the caller
  'auth.token_missing': { status: 401, graph: 'InvalidAuthenticationToken', message: 'Access token is empty.' },
  'auth.token_invalid': { status: 401, graph: 'InvalidAuthenticationToken', message: 'Access token validation failure. Invalid audience, issuer, signature or expiry.' },
  'auth.session_required': { status: 401, graph: 'InvalidAuthenticationToken', message: 'Sign in first.' },
  'auth.csrf_failed': { status: 403, graph: 'Authorization_RequestDenied', message: 'The request was refused because its CSRF token is missing or wrong.' },
  'auth.forbidden': { status: 403, graph: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' },
  'auth.delegated_only': { status: 403, graph: 'Authorization_RequestDenied', message: 'This operation needs a signed-in user (a delegated token).' },
  'auth.invalid_credentials': { status: 401, graph: 'Authorization_RequestDenied', message: 'Your account or password is incorrect.' },
  'auth.account_locked': { status: 423, graph: 'Authorization_RequestDenied', message: 'Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your admin.' },
  'auth.account_disabled': { status: 403, graph: 'Authorization_RequestDenied', message: 'Your account has been disabled. Contact your admin.' },
  'auth.onprem_unreachable': { status: 503, graph: 'serviceNotAvailable', message: "We can't sign you in right now: your organization's on-premises directory, which checks your password, can't be reached. Try again later." },
  'auth.password_expired': { status: 403, graph: 'Authorization_RequestDenied', message: 'Your password has expired or must be changed before you can sign in.' },

  // directory objects
  'user.not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The user does not exist in this tenant.' },
  'user.upn_invalid': { status: 400, graph: 'Request_BadRequest', message: 'The userPrincipalName is not valid.' },
  'user.upn_domain_unverified': { status: 400, graph: 'Request_BadRequest', message: 'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.' },
  'user.onprem_mastered': { status: 400, graph: 'Request_BadRequest', message: 'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.' },
  'user.upn_taken': { status: 400, graph: 'Request_BadRequest', message: 'Another object with the same value for property userPrincipalName already exists.' },
  'user.cannot_delete_self': { status: 400, graph: 'Request_BadRequest', message: 'You cannot delete your own account.' },
  'group.not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The group does not exist in this tenant.' },
  'group.member_exists': { status: 400, graph: 'Request_BadRequest', message: 'One or more added object references already exist for the following modified properties: \'members\'.' },
  'group.member_not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The object is not a member of this group.' },
  'group.cycle': { status: 400, graph: 'Request_BadRequest', message: 'Adding this group would make the group a member of itself.' },
  'group.role_assignable_invalid': { status: 400, graph: 'Request_BadRequest', message: 'A role-assignable group must be a security group: securityEnabled true and mailEnabled false.' },
  'group.role_assignable_immutable': { status: 400, graph: 'Request_BadRequest', message: 'The property isAssignableToRole can only be set when the group is created; it cannot be changed.' },
  'group.role_assignable_nesting': { status: 400, graph: 'Request_BadRequest', message: 'A group cannot be added as a member of a role-assignable group: role-assignable groups do not nest.' },
  'role.not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The directory role does not exist.' },
  'role.assignment_exists': { status: 400, graph: 'Request_BadRequest', message: 'A conflicting object with one or more of the specified property values is present in the directory: the principal already holds this role.' },
  'role.assignment_not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The role assignment does not exist.' },
  'role.last_global_admin': { status: 400, graph: 'Request_BadRequest', message: 'The last Global Administrator of a tenant cannot be removed.' },
  'role.principal_not_assignable': { status: 400, graph: 'Request_BadRequest', message: 'Only users and role-assignable groups (isAssignableToRole true) can be assigned directory roles.' },
  'tenant.not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The tenant does not exist.' },
  'tenant.domain_taken': { status: 400, graph: 'Request_BadRequest', message: 'The domain is already registered to a tenant.' },
  'tenant.domain_invalid': { status: 400, graph: 'Request_BadRequest', message: 'The domain name is not valid.' },
  'app.not_found': { status: 400, graph: 'Request_BadRequest', message: 'The application does not exist.' },
  'app.permission_unknown': { status: 400, graph: 'Request_BadRequest', message: 'The permission name is not a known Graph application permission.' },

  // passwords
  'password.policy_violation': { status: 400, graph: 'Request_BadRequest', message: 'The password does not meet the password policy.' },
  'password.current_invalid': { status: 400, graph: 'Request_BadRequest', message: 'Your current password is incorrect.' },
  'policy.edition_required': { status: 409, graph: 'Request_BadRequest', message: 'This setting needs a higher edition of the tenant.' },
  'policy.premium_required': { status: 409, graph: 'Request_BadRequest', message: 'This setting needs the premium edition of the tenant.' },
  'password.required': { status: 400, graph: 'Request_BadRequest', message: 'A password is required.' },
  'password.onprem_password_required': { status: 400, graph: 'Request_BadRequest', message: "This user's password is managed on-premises: give the new password (newPassword). A temporary password can only be generated for cloud users." },
  'password.onprem_writeback_off': { status: 409, graph: 'Request_BadRequest', message: "This user's password is managed on-premises and password writeback is off for this organization (SSPR_0010): change it in the on-premises directory, or turn writeback on." },

  // security info and one-time codes
  'verification.code_invalid': { status: 400, graph: 'Request_BadRequest', message: 'The code is not correct. Check it and try again.' },
  'verification.code_expired': { status: 400, graph: 'Request_BadRequest', message: 'The code has expired, was already used or was replaced by a newer one. Request a new code.' },
  'verification.code_dead': { status: 400, graph: 'Request_BadRequest', message: 'The code was entered wrongly too many times. Request a new code later.' },
  'verification.too_many_codes': { status: 429, graph: 'TooManyRequests', message: 'Too many codes were requested. Wait a while, then request a new code.' },
  'security_info.invalid': { status: 400, graph: 'Request_BadRequest', message: 'The security info is not valid.' },
  'security_info.method_exists': { status: 400, graph: 'badRequest', message: 'The user already has an authentication method of this type. Update or delete it instead.' },
  'security_info.method_not_allowed': { status: 409, graph: 'Request_BadRequest', message: 'This method cannot be registered under your organization\'s policy.' },

  // self-service password reset flow (reference §2.4: Azure's SSPR_00xx codes travel in details.ssprCode)
  'sspr.disabled': { status: 403, graph: 'Authorization_RequestDenied', message: "We're sorry. You cannot reset your password at this time because your administrator has disabled password reset for your organization. Contact your admin." },
  'sspr.writeback_off': { status: 403, graph: 'Authorization_RequestDenied', message: "We're sorry. You cannot reset your password at this time because your administrator has not enabled a necessary service for your organization. Contact your admin." },
  'sspr.no_policy': { status: 403, graph: 'Authorization_RequestDenied', message: "We're sorry. You cannot reset your password at this time because your administrator has not configured password reset for your organization. Contact your admin." },
  'sspr.not_licensed': { status: 403, graph: 'Authorization_RequestDenied', message: "We're sorry. You cannot reset your password at this time because required licenses are missing from your organization. Contact your admin." },
  'sspr.not_in_group': { status: 403, graph: 'Authorization_RequestDenied', message: "We're sorry. You cannot reset your password at this time because your administrator has not configured your account to use password reset. Contact your admin." },
  'sspr.not_enough_methods': { status: 403, graph: 'Authorization_RequestDenied', message: "We're sorry. We cannot reset your password because necessary information is missing from your account. Ask your admin to reset your password for you." },
  'sspr.onprem_unreachable': { status: 503, graph: 'serviceNotAvailable', message: "We're sorry. We cannot reset your password at this time because of connectivity issues to your organization. Try again later." },
  'sspr.blocked': { status: 429, graph: 'TooManyRequests', message: 'You have tried to reset your password too many times. Wait 24 hours and try again, or contact your admin.' },
  'sspr.captcha_invalid': { status: 400, graph: 'Request_BadRequest', message: 'The CAPTCHA was not solved, has expired or was already used. Solve a new one.' },
  'sspr.flow_not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'This password reset session does not exist or has expired. Start again.' },
  'sspr.method_unavailable': { status: 400, graph: 'Request_BadRequest', message: 'This verification method is not available in this password reset session, or was already used.' },
  'sspr.phone_mismatch': { status: 400, graph: 'Request_BadRequest', message: 'The phone number does not match the one on file. Enter the complete number, including the country code.' },
  'sspr.answers_wrong': { status: 400, graph: 'Request_BadRequest', message: 'One or more answers are not correct. Try again with the new questions.' },
  'sspr.not_verified': { status: 403, graph: 'Authorization_RequestDenied', message: 'Verify your identity with the required methods first.' },
  'sspr.intent_unavailable': { status: 400, graph: 'Request_BadRequest', message: 'Your organization does not allow unlocking an account without resetting its password.' },
  'sspr.already_contacted': { status: 409, graph: 'Request_BadRequest', message: 'Your administrator was already contacted from this password reset session. Wait for them to get in touch.' },
  'sspr.sms_budget': { status: 429, graph: 'TooManyRequests', message: 'Too many text messages and calls were requested from your network or to your country recently. Try again in an hour, use another verification method, or contact your admin.' },

  // password writeback agents (issue 7)
  'agent.unauthenticated': { status: 401, graph: 'InvalidAuthenticationToken', message: 'The agent credential is missing or not valid. Send "Authorization: Agent <credential>".' },
  'agent.disabled': { status: 403, graph: 'Authorization_RequestDenied', message: 'Password writeback is disabled for this agent by an administrator.' },
  'agent.registration_token_invalid': { status: 401, graph: 'InvalidAuthenticationToken', message: 'The registration token is not valid, has expired or was already used. Ask an administrator for a new one.' },
  'agent.not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The writeback agent does not exist in this tenant.' },
  'agent.job_not_found': { status: 404, graph: 'Request_ResourceNotFound', message: 'The writeback job does not exist or was not claimed by this agent.' },
  'agent.result_conflict': { status: 409, graph: 'Request_BadRequest', message: 'A different result was already recorded for this job.' },
  'writeback.refused': { status: 400, graph: 'Request_BadRequest', message: 'Your on-premises directory refused the password.' },

  // tenant branding (issue 8)
  'branding.contrast_too_low': { status: 400, graph: 'Request_BadRequest', message: 'The primary colour does not contrast enough with text on it or with the white page.' },
  'branding.logo_invalid': { status: 400, graph: 'Request_BadRequest', message: 'The logo must be a PNG or JPEG image (SVG is not accepted).' },
  'branding.logo_too_large': { status: 413, graph: 'Request_EntityTooLarge', message: 'The logo is larger than 100 KB.' },

  // the database cannot be used right now (src/store/database-errors.ts): answered with Retry-After
  'service.database_unavailable': { status: 503, graph: 'serviceNotAvailable', message: 'The service cannot reach its database at the moment. Nothing was changed; try again in a few seconds.' },

  'internal': { status: 500, graph: 'generalException', message: 'Something went wrong on our side. Use the request id to ask your admin.' },
} as const satisfies Record<string, { status: number; graph: string; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, options: { message?: string; data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(options.message ?? errorCodes[code].message, { cause: options.cause });
    this.code = code;
    this.status = errorCodes[code].status;
    this.data = options.data ? Object.freeze({ ...options.data }) : undefined;
  }
}

/** Logto-style assertion: throws the registered error when the condition is false. */
export function assertThat(
  condition: unknown,
  code: ErrorCode,
  options?: { message?: string; data?: Record<string, unknown> },
): asserts condition {
  if (!condition) throw new AppError(code, options);
}
