import type { KeyObject } from 'node:crypto';
import type { FlattenedJWE, GeneralJWE } from 'jose';
import { publicKeyFromJwk, sealJwe } from './jwe.js';
import type { SealedJobPayload } from './protocol.js';

export { CONTENT_ENC, KEY_ALG } from './jwe.js';

export interface RecipientKey {
  kid: string;
  publicJwk: Record<string, unknown>;
}

/**
 * Seals a job's payload to every current key of the tenant's healthy agents (one JWE, one recipient
 * per key), so whichever agent claims it can open it and Postern never keeps the plaintext. The job
 * id is the additional authenticated data as well as inside the payload: a sealed payload moved under
 * another job fails to open. The JWE profile and why it is written with node:crypto: src/writeback/jwe.ts.
 */
export async function sealPayload(payload: SealedJobPayload, keys: readonly RecipientKey[]): Promise<GeneralJWE> {
  if (keys.length === 0) throw new Error('no recipient key');
  const recipients = keys.map((k) => ({ kid: k.kid, key: recipientKey(k.publicJwk) }));
  return Promise.resolve(sealJwe(JSON.stringify(payload), payload.jobId, { cty: 'postern-writeback-job+json' }, recipients));
}

/**
 * Agent keys as node:crypto key objects, by their JWK's exact JSON: a key's JWK is the key, so an entry
 * never stands for another key. Agents rotate keys rarely; the oldest entries make room.
 */
const imported = new Map<string, KeyObject>();
const IMPORTED_MAX = 256;

function recipientKey(publicJwk: Record<string, unknown>): KeyObject {
  const id = JSON.stringify(publicJwk);
  let key = imported.get(id);
  if (!key) {
    key = publicKeyFromJwk(publicJwk);
    if (imported.size >= IMPORTED_MAX) imported.delete(imported.keys().next().value!);
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
