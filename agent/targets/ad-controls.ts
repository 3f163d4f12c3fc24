import { Control } from 'ldapts';

/**
 * LDAP_SERVER_POLICY_HINTS (MS-ADTS 3.1.1.3.4.1.33): on a password reset (replace unicodePwd) AD then
 * applies history and minimum age as for a change. Value: BER SEQUENCE { Flags INTEGER 1 } =
 * 30 03 02 01 01. Windows Server 2012+ advertises 1.2.840.113556.1.4.2239; 2008 R2 with the hotfix
 * the deprecated 1.2.840.113556.1.4.2066 (same value). Samba 4.17 advertises neither and answers
 * unavailableCriticalExtension to both, so the target sends it only when the rootDSE lists it.
 */
export const POLICY_HINTS_OID = '1.2.840.113556.1.4.2239';
export const POLICY_HINTS_DEPRECATED_OID = '1.2.840.113556.1.4.2066';
export type PolicyHintsOid = typeof POLICY_HINTS_OID | typeof POLICY_HINTS_DEPRECATED_OID;
const FLAGS_ENFORCE = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);

interface BufferWriter {
  writeBuffer(buffer: Buffer, tag: number): void;
}

export class PolicyHintsControl extends Control {
  constructor(oid: PolicyHintsOid = POLICY_HINTS_OID) {
    super(oid, { critical: true });
  }

  /** the controlValue OCTET STRING (tag 0x04) wrapping the BER of the flags */
  protected override writeControl(writer: BufferWriter): void {
    writer.writeBuffer(FLAGS_ENFORCE, 0x04);
  }
}

/** Which hints OID the DC advertises in supportedControl, preferring the current one; null = none. */
export function choosePolicyHintsOid(supportedControl: readonly string[]): PolicyHintsOid | null {
  if (supportedControl.includes(POLICY_HINTS_OID)) return POLICY_HINTS_OID;
  if (supportedControl.includes(POLICY_HINTS_DEPRECATED_OID)) return POLICY_HINTS_DEPRECATED_OID;
  return null;
}
