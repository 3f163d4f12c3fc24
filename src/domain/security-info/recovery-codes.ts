import { randomBytes } from 'node:crypto';
import { sha256 } from '../../lib/crypto.js';
import { listRecoveryCodes, replaceRecoveryCodes } from '../../store/software-oath.js';
import type { RequestContext } from '../audit.js';
import { auditedChange, loadMe, type Me, type SecurityInfoDeps } from './events.js';

/**
 * Ten single-use recovery codes (beyond Azure). Each has 80 random bits, so a plain SHA-256 is a
 * safe hash: there is nothing to brute-force. They are shown once; a new set replaces the old one.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = ALPHABET[Number(bits & 31n)]! + out;
    bits >>= 5n;
  }
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12)}`;
}

/** The form that is hashed: lower case, separators and spaces dropped. */
export function recoveryCodeHash(code: string): string {
  return sha256(`recovery:${code.toLowerCase().replace(/[\s-]/g, '')}`);
}

export async function generateRecoveryCodes(deps: SecurityInfoDeps, ctx: RequestContext, me: Me): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await deps.db.transaction().execute(async (trx) => {
    const user = await loadMe(trx, me);
    const had = (await listRecoveryCodes(trx, user.id)).length > 0;
    const at = deps.clock.now().toISOString();
    await auditedChange(deps, trx, ctx, user, { kind: 'registered', method: 'Recovery codes', replaced: had }, () =>
      replaceRecoveryCodes(
        trx,
        user.id,
        codes.map((c) => ({ id: deps.random.uuid(), codeHash: recoveryCodeHash(c), usedAt: null, createdAt: at })),
      ),
    );
  });
  return codes;
}

export async function recoveryCodesStatus(deps: SecurityInfoDeps, me: Me): Promise<{ total: number; remaining: number; createdDateTime: string | null }> {
  const codes = await listRecoveryCodes(deps.db, me.userId);
  return { total: codes.length, remaining: codes.filter((c) => c.usedAt === null).length, createdDateTime: codes[0]?.createdAt ?? null };
}
