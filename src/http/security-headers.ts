import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The security headers of pages and of anything that is not the JSON API (CSP, frame-ancestors,
 * nosniff, COOP/CORP, referrer policy, HSTS over https; the API's own set is apiSecurityHeaders
 * below), as helmet writes them for our options. They depend only on the
 * configuration, so helmet runs ONCE at start-up against a recorder and each request copies the
 * result: building helmet and parsing the CSP per request cost ≈ 10 % of a Graph read's CPU
 * (BENCHMARKS.md, graph-read). Nothing here varies per request (no CSP nonces: the web client is
 * built files served from 'self').
 */
export function securityHeaders(publicUrl: string): Readonly<Record<string, string>> {
  const https = publicUrl.startsWith('https://');
  const options: HelmetOptions = {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // helmet's default also allows fonts from any https origin; the pages use the system fonts,
        // and a reset page must load nothing from a third party
        fontSrc: ["'self'", 'data:'],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        // only meaningful (and only harmless) when we are served over https
        upgradeInsecureRequests: https ? [] : null,
      },
    },
    hsts: https,
  };
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: Error | undefined;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) failure = err instanceof Error ? err : new Error('helmet refused the security header options');
  });
  if (failure) throw failure;
  return Object.freeze(headers);
}

/**
 * The headers of a JSON API answer (/v1.0, /api, the OAuth JSON endpoints): what OWASP's REST Security Cheat Sheet asks of an
 * API — nosniff, no caching, a CSP under which the answer loads nothing and no page frames it, HSTS
 * over https — and CORP, which keeps another origin from pulling the JSON into its process. The page
 * headers (referrer policy, COOP, the page CSP, X-Frame-Options, …) govern documents a browser
 * renders; a JSON answer is not one, and each header is work on every answer (four and the request
 * id instead of twelve: part of the Graph read's saving, BENCHMARKS.md). A route that sets its own
 * Cache-Control (a cacheable answer) overrides no-store.
 */
export function apiSecurityHeaders(publicUrl: string): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  const hsts = securityHeaders(publicUrl)['strict-transport-security'];
  if (hsts !== undefined) headers['strict-transport-security'] = hsts;
  return Object.freeze(headers);
}

/**
 * The OAuth endpoints that answer JSON to programs (the token endpoint, OpenID discovery and the
 * signing keys), by their route URL: a token answer is no document a browser renders either, so it
 * gets the API set (Azure's token endpoint sends Cache-Control no-store and Pragma no-cache, which
 * the route adds; discovery and keys set their own cacheable Cache-Control). Six headers with the
 * request id and Pragma instead of fourteen on every sign-in.
 */
const OAUTH_JSON_ROUTES: ReadonlySet<string> = new Set(['/:tenant/oauth2/v2.0/token', '/:tenant/v2.0/.well-known/openid-configuration', '/:tenant/discovery/v2.0/keys']);

/** Whether a route answers JSON API calls (apiSecurityHeaders) rather than pages. */
export function isApiRoute(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/v1.0/') || url.startsWith('/api/') || OAUTH_JSON_ROUTES.has(url));
}
