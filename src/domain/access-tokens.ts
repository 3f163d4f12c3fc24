import type { Application } from '../store/applications.js';
import type { User } from '../store/users.js';
import { GRAPH_AUDIENCE, type TokenService } from './tokens.js';

/**
 * Access-token claims in Azure's v2 shape, so tools that read them (roles, scp, wids, oid, tid)
 * carry over. Both the token endpoint and test helpers mint tokens through these two functions.
 */
export async function issueAppAccessToken(tokens: TokenService, app: Application, audience = GRAPH_AUDIENCE): Promise<string> {
  return tokens.sign({
    aud: audience,
    tid: app.tenantId,
    sub: app.id,
    oid: app.id,
    appid: app.clientId,
    azp: app.clientId,
    idtyp: 'app',
    roles: app.permissions,
    app_displayname: app.displayName,
  });
}

export async function issueUserAccessToken(
  tokens: TokenService,
  input: { user: User; roles: readonly string[]; clientId: string; scope: string; audience?: string },
): Promise<string> {
  return tokens.sign({
    aud: input.audience ?? GRAPH_AUDIENCE,
    tid: input.user.tenantId,
    sub: input.user.id,
    oid: input.user.id,
    azp: input.clientId,
    appid: input.clientId,
    idtyp: 'user',
    scp: input.scope,
    wids: [...input.roles],
    upn: input.user.userPrincipalName,
    preferred_username: input.user.userPrincipalName,
    name: input.user.displayName,
  });
}
