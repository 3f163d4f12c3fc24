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
 * The headers of a JSON API answer (/v1.0, /api): what OWASP's REST Security Cheat Sheet asks of an
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

/** Whether a route answers JSON API calls (apiSecurityHeaders) rather than pages. */
export function isApiRoute(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/v1.0/') || url.startsWith('/api/'));
}
