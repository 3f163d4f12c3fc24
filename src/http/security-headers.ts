import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The security headers every response carries (CSP, frame-ancestors, nosniff, COOP/CORP, referrer
 * policy, HSTS over https), as helmet writes them for our options. They depend only on the
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
