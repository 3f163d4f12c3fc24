import { APPLICATION_PERMISSIONS } from './authorization.js';
import { oauthErrors } from './oauth-errors.js';
import { GRAPH_AUDIENCE } from './tokens.js';

export interface DelegatedScope {
  /** the requested scopes, normalised (echoed as `scope`, kept with refresh tokens) */
  requested: string;
  /** the access token's `scp` */
  scp: string;
  audience: string;
  openid: boolean;
  offlineAccess: boolean;
  email: boolean;
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const SCOPE_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,99}$/;

/**
 * Reads a delegated `scope` the way Entra ID does: OIDC scopes, plus the scopes of ONE resource —
 * Graph (`https://graph.microsoft.com/User.Read` or bare `User.Read`) or Postern itself
 * (`<PUBLIC_URL>/…`). `.default` stands for every Graph permission; what a delegated token can do is
 * still bounded by the user's directory roles (wids), re-read per request. Only OIDC scopes: Graph
 * `User.Read`, as Azure does.
 */
export function parseDelegatedScope(raw: string, publicUrl: string): DelegatedScope {
  const tokens = [...new Set(raw.split(/\s+/).filter((t) => t.length > 0))];
  if (tokens.length === 0 || tokens.length > 50) throw oauthErrors.invalidScope('It must name between 1 and 50 scopes.');
  const oidc: string[] = [];
  const graph: string[] = [];
  const own: string[] = [];
  for (const token of tokens) {
    const lower = token.toLowerCase();
    if (OIDC_SCOPES.has(lower)) oidc.push(lower);
    else if (lower.startsWith(`${GRAPH_AUDIENCE}/`)) graph.push(scopeName(token.slice(GRAPH_AUDIENCE.length + 1), token));
    else if (token.startsWith(`${publicUrl}/`)) own.push(scopeName(token.slice(publicUrl.length + 1), token));
    else graph.push(scopeName(token, token));
  }
  if (graph.length > 0 && own.length > 0) {
    throw oauthErrors.invalidScope('The scopes name more than one resource; ask for the scopes of one resource at a time.');
  }
  const resourceScopes = own.length > 0 ? own : graph.length > 0 ? graph : ['User.Read'];
  const expanded = resourceScopes.flatMap((s) => (s === '.default' ? [...APPLICATION_PERMISSIONS] : [s]));
  const scp = [...new Set([...expanded, ...oidc.filter((s) => s !== 'offline_access')])].join(' ');
  return {
    requested: tokens.join(' '),
    scp,
    audience: own.length > 0 ? publicUrl : GRAPH_AUDIENCE,
    openid: oidc.includes('openid'),
    offlineAccess: oidc.includes('offline_access'),
    email: oidc.includes('email'),
  };
}

function scopeName(name: string, token: string): string {
  if (name === '.default' || SCOPE_NAME.test(name)) return name;
  throw oauthErrors.invalidScope(`The scope '${token.slice(0, 200)}' is not valid.`);
}
