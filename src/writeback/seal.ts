import type { KeyObject } from 'node:crypto';
import type { FlattenedJWE, GeneralJWE } from 'jose';
import { agreeEphemeral, publicKeyFromJwk, sealJwe, type EphemeralAgreement } from './jwe.js';
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
  const recipients = keys.map((k) => {
    const entry = recipientEntry(k.publicJwk);
    // taken out of the slot before anything else runs: no other seal can ever see this agreement
    const agreement = entry.ready ?? undefined;
    entry.ready = null;
    prepareNext(entry);
    return { kid: k.kid, key: entry.key, agreement };
  });
  return Promise.resolve(sealJwe(JSON.stringify(payload), payload.jobId, { cty: 'postern-writeback-job+json' }, recipients));
}

/**
 * Agent keys as node:crypto key objects, by their JWK's exact JSON: a key's JWK is the key, so an entry
 * never stands for another key. Agents rotate keys rarely; the oldest entries make room.
 *
 * Each entry also holds at most one ephemeral agreement made ahead of time (jwe.ts: the ECDH and KDF of
 * the next seal, the largest CPU item of queueing a job). A seal takes it, so it is never used twice, and
 * the next one is made PREPARE_AHEAD_MS later, when the job that sealed has long been handed over (on
 * one event loop, setImmediate would run it before the waiting agent's socket is read, i.e. still on the
 * job's path); a seal that finds none (the first to a key, or one within PREPARE_AHEAD_MS of the last)
 * agrees inline, as before. The agreement is
 * forgotten with its entry. What it costs: the KEK of the next job to a key waits in memory until then;
 * it opens nothing sealed before, and Postern could seal to that key at any time anyway.
 */
interface RecipientEntry {
  readonly id: string;
  readonly key: KeyObject;
  ready: EphemeralAgreement | null;
  preparing: boolean;
}
const imported = new Map<string, RecipientEntry>();
const IMPORTED_MAX = 256;

function recipientEntry(publicJwk: Record<string, unknown>): RecipientEntry {
  const id = JSON.stringify(publicJwk);
  let entry = imported.get(id);
  if (!entry) {
    entry = { id, key: publicKeyFromJwk(publicJwk), ready: null, preparing: false };
    if (imported.size >= IMPORTED_MAX) imported.delete(imported.keys().next().value!);
    imported.set(id, entry);
  }
  return entry;
}

function prepareNext(entry: RecipientEntry): void {
  if (entry.preparing) return;
  entry.preparing = true;
  setTimeout(() => {
    entry.preparing = false;
    // an entry pushed out of the cache meanwhile gets none: its slot went with it
    if (entry.ready !== null || imported.get(entry.id) !== entry) return;
    try {
      entry.ready = agreeEphemeral(entry.key);
    } catch {
      // nothing ready: the next seal agrees inline and reports the error itself
    }
  }, PREPARE_AHEAD_MS).unref();
}

/** How long after a seal the next agreement for its key is made (exported for tests). */
export const PREPARE_AHEAD_MS = 10;

/** Whether a seal to this key now would use an agreement made ahead of time (tests, diagnostics). */
export function agreementReady(publicJwk: Record<string, unknown>): boolean {
  return (imported.get(JSON.stringify(publicJwk))?.ready ?? null) !== null;
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
