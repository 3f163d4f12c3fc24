import { Control } from 'ldapts';
import { DirectoryRefusal, type RefusalReason } from '../target.js';

/**
 * LDAP pieces ldapts does not ship: the Password Modify extended operation (RFC 3062) request value
 * and the password policy control (draft-behera-ldap-password-policy, OpenLDAP ppolicy), with a
 * mapping of ppolicy and LDAP result codes to the agent's refusal reasons.
 */

export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';
export const PASSWORD_POLICY_CONTROL_OID = '1.3.6.1.4.1.42.2.27.8.5.1';

/** BER length octets (definite form). */
function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), berLength(content.length), content]);
}

/**
 * PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OCTET STRING OPTIONAL,
 *   oldPasswd [1] OCTET STRING OPTIONAL, newPasswd [2] OCTET STRING OPTIONAL }
 */
export function encodePasswordModify(req: { userIdentity?: string; oldPassword?: string; newPassword?: string }): Buffer {
  const parts: Buffer[] = [];
  if (req.userIdentity !== undefined) parts.push(tlv(0x80, Buffer.from(req.userIdentity, 'utf8')));
  if (req.oldPassword !== undefined) parts.push(tlv(0x81, Buffer.from(req.oldPassword, 'utf8')));
  if (req.newPassword !== undefined) parts.push(tlv(0x82, Buffer.from(req.newPassword, 'utf8')));
  return tlv(0x30, Buffer.concat(parts));
}

/** ppolicy error values (PasswordPolicyResponseValue.error). */
export const PpolicyError = {
  passwordExpired: 0,
  accountLocked: 1,
  changeAfterReset: 2,
  passwordModNotAllowed: 3,
  mustSupplyOldPassword: 4,
  insufficientPasswordQuality: 5,
  passwordTooShort: 6,
  passwordTooYoung: 7,
  passwordInHistory: 8,
  passwordTooLong: 9,
} as const;

const PPOLICY_ERROR_NAMES = Object.fromEntries(Object.entries(PpolicyError).map(([k, v]) => [v, k])) as Record<number, string>;

/**
 * The password policy request control. Send a fresh instance with an operation: ldapts parses a
 * response control into the request control of the same type, so after the operation (also when
 * it failed) `error` / `timeBeforeExpiration` / `graceAuthNsRemaining` hold the server's answer.
 */
export class PasswordPolicyControl extends Control {
  error: number | null = null;
  timeBeforeExpiration: number | null = null;
  graceAuthNsRemaining: number | null = null;

  constructor() {
    super(PASSWORD_POLICY_CONTROL_OID, { critical: false });
  }

  get errorName(): string | null {
    return this.error === null ? null : (PPOLICY_ERROR_NAMES[this.error] ?? `ppolicy error ${this.error}`);
  }

  protected override parseControl(reader: unknown): void {
    const buf = (reader as { buffer?: Buffer }).buffer;
    if (!buf) return;
    decodePasswordPolicyResponse(buf, this);
  }
}

/**
 * PasswordPolicyResponseValue ::= SEQUENCE { warning [0] CHOICE { timeBeforeExpiration [0] INTEGER,
 *   graceAuthNsRemaining [1] INTEGER } OPTIONAL, error [1] ENUMERATED OPTIONAL }
 */
export function decodePasswordPolicyResponse(buf: Buffer, into: Pick<PasswordPolicyControl, 'error' | 'timeBeforeExpiration' | 'graceAuthNsRemaining'>): void {
  const read = (b: Buffer, at: number): { tag: number; start: number; end: number } | null => {
    if (at + 2 > b.length) return null;
    const tag = b[at]!;
    let len = b[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n > 4 || start + n > b.length) return null;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
      start += n;
    }
    return start + len > b.length ? null : { tag, start, end: start + len };
  };
  const int = (b: Buffer, s: number, e: number): number => {
    let v = 0;
    for (let i = s; i < e; i++) v = v * 256 + b[i]!;
    return v;
  };
  const seq = read(buf, 0);
  if (!seq || seq.tag !== 0x30) return;
  for (let at = seq.start; at < seq.end; ) {
    const el = read(buf, at);
    if (!el) return;
    if (el.tag === 0xa0) {
      const inner = read(buf, el.start);
      if (inner?.tag === 0x80) into.timeBeforeExpiration = int(buf, inner.start, inner.end);
      if (inner?.tag === 0x81) into.graceAuthNsRemaining = int(buf, inner.start, inner.end);
    } else if (el.tag === 0x81) {
      into.error = int(buf, el.start, el.end);
    }
    at = el.end;
  }
}

const PPOLICY_REASON: Record<number, RefusalReason> = {
  [PpolicyError.accountLocked]: 'lockedOut',
  [PpolicyError.passwordModNotAllowed]: 'accessDenied',
  [PpolicyError.mustSupplyOldPassword]: 'wrongPassword',
  [PpolicyError.insufficientPasswordQuality]: 'notComplex',
  [PpolicyError.passwordTooShort]: 'tooShort',
  [PpolicyError.passwordTooYoung]: 'tooYoung',
  [PpolicyError.passwordInHistory]: 'recentlyUsed',
};

/** LDAP result codes worth a reason of their own. */
const RESULT_REASON: Record<number, RefusalReason> = {
  32: 'notFound', // noSuchObject
  49: 'wrongPassword', // invalidCredentials
  50: 'accessDenied', // insufficientAccessRights
  51: 'unreachable', // busy
  52: 'unreachable', // unavailable
};

/**
 * An error from an LDAP operation sent with `ctl`, as a refusal: the ppolicy error when the server
 * gave one, else the LDAP result code, else (network, TLS, timeout) unreachable.
 */
export function ldapRefusal(err: unknown, ctl: PasswordPolicyControl | null, what: string): DirectoryRefusal {
  if (err instanceof DirectoryRefusal) return err;
  const e = err as { code?: unknown; message?: string };
  const message = (e.message ?? String(err)).replace(/\s+Code: 0x[0-9a-f]+$/, '');
  if (ctl?.error !== null && ctl?.error !== undefined) {
    return new DirectoryRefusal(PPOLICY_REASON[ctl.error] ?? 'other', `${what}: ${ctl.errorName} (${message})`);
  }
  if (typeof e.code === 'number') return new DirectoryRefusal(RESULT_REASON[e.code] ?? 'other', `${what}: ${message} (LDAP ${e.code})`);
  return new DirectoryRefusal('unreachable', `${what}: ${message}`);
}
