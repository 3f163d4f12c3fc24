import { AppError } from '../errors.js';

/**
 * Request bodies are UTF-8 or refused. A lenient decoder turns a broken byte into U+FFFD, so a
 * password sent with a broken byte would be set to something the user never typed (and, through
 * writeback, written to the directory that way): a 400 that names the problem instead.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8Body(body: Buffer | string): string {
  if (typeof body === 'string') return body;
  try {
    return strictUtf8.decode(body);
  } catch {
    throw new AppError('request.invalid', { message: 'The request body is not valid UTF-8 text.' });
  }
}

/** U+0000, or a UTF-16 surrogate without its pair (JSON's "\ud800" escape allows one). */
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Password fields: the password policy refuses NUL and lone surrogates itself, in its own words. */
const PASSWORD_KEY = /password/i;

/**
 * Why a JSON string (or property name) cannot be taken, or null. PostgreSQL refuses NUL in text
 * where SQLite would store it, and both store a lone surrogate as U+FFFD: refused here, the same
 * on both, before anything is written — nothing legitimate holds either.
 */
export function unstorableText(key: string, value: unknown): string | null {
  if (UNSTORABLE.test(key)) return 'A property name holds a NUL character or an unpaired UTF-16 surrogate; remove it.';
  if (typeof value !== 'string' || PASSWORD_KEY.test(key) || !UNSTORABLE.test(value)) return null;
  const what = value.includes('\u0000') ? 'a NUL (zero) character' : 'an unpaired UTF-16 surrogate';
  return `The property '${key.slice(0, 64)}' holds ${what}, which no text here may hold; remove it.`;
}

/**
 * application/x-www-form-urlencoded: a repeated name gives an array (as @fastify/formbody did, so a
 * schema refuses it instead of one value winning). A %-escape run that is not UTF-8 (%FF) is refused;
 * a bare "%" stays as it is, as browsers and the WHATWG parser leave it.
 */
export function parseFormBody(body: Buffer | string): Record<string, string | string[]> {
  const text = decodeUtf8Body(body);
  for (const run of text.match(/(?:%[0-9A-Fa-f]{2})+/g) ?? []) {
    try {
      decodeURIComponent(run);
    } catch {
      throw new AppError('request.invalid', { message: `The form body holds a percent-encoding that is not UTF-8 (${run.slice(0, 24)}).` });
    }
  }
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
