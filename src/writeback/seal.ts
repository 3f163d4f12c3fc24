import { GeneralEncrypt, importJWK, type FlattenedJWE, type GeneralJWE, type JWK } from 'jose';
import type { SealedJobPayload } from './protocol.js';

export const KEY_ALG = 'ECDH-ES+A256KW';
export const CONTENT_ENC = 'A256GCM';

export interface RecipientKey {
  kid: string;
  publicJwk: Record<string, unknown>;
}

/**
 * Seals a job's payload to every current key of the tenant's healthy agents (one JWE, one recipient
 * per key), so whichever agent claims it can open it and Postern never keeps the plaintext. The job
 * id is the additional authenticated data as well as inside the payload: a sealed payload moved under
 * another job fails to open.
 */
export async function sealPayload(payload: SealedJobPayload, keys: readonly RecipientKey[]): Promise<GeneralJWE> {
  if (keys.length === 0) throw new Error('no recipient key');
  const enc = new GeneralEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ enc: CONTENT_ENC, cty: 'postern-writeback-job+json' })
    .setAdditionalAuthenticatedData(new TextEncoder().encode(payload.jobId));
  for (const key of keys) {
    enc.addRecipient(await recipientKey(key.publicJwk)).setUnprotectedHeader({ alg: KEY_ALG, kid: key.kid });
  }
  return enc.encrypt();
}

/**
 * Imported agent keys, by their JWK's exact JSON: a key's JWK is the key, so an entry can never
 * stand for another key. Importing is a Web Crypto call on the threadpool (behind any password
 * hashes in flight) and took a share of the time a job needs to reach its agent (BENCHMARKS.md,
 * writeback). Agents rotate keys rarely; the oldest entries make room.
 */
const imported = new Map<string, Promise<Awaited<ReturnType<typeof importJWK>>>>();
const IMPORTED_MAX = 256;

function recipientKey(publicJwk: Record<string, unknown>): Promise<Awaited<ReturnType<typeof importJWK>>> {
  const id = JSON.stringify(publicJwk);
  let key = imported.get(id);
  if (!key) {
    if (imported.size >= IMPORTED_MAX) imported.delete(imported.keys().next().value!);
    key = importJWK(publicJwk as JWK, KEY_ALG);
    // a key that fails to import is not kept: the next job tries again (and fails the same way)
    key.catch(() => imported.delete(id));
    imported.set(id, key);
  }
  return key;
}

/** The flattened JWE of one recipient (what the claiming agent receives), or undefined when none has one of `kids`. */
export function recipientJwe(general: GeneralJWE, kids: ReadonlySet<string>): FlattenedJWE | undefined {
  const recipient = general.recipients.find((r) => typeof r.header?.kid === 'string' && kids.has(r.header.kid));
  if (!recipient) return undefined;
  const flat: FlattenedJWE = { protected: general.protected, iv: general.iv, ciphertext: general.ciphertext, tag: general.tag };
  if (general.aad !== undefined) flat.aad = general.aad;
  if (general.unprotected !== undefined) flat.unprotected = general.unprotected;
  if (recipient.header !== undefined) flat.header = recipient.header;
  if (recipient.encrypted_key !== undefined) flat.encrypted_key = recipient.encrypted_key;
  return flat;
}
