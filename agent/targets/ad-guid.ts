/**
 * Active Directory objectGUID helpers. The sync anchor of an AD object is the base64 of its 16
 * objectGUID bytes, exactly as the directory stores them (the same form Azure AD Connect's
 * sourceAnchor takes). A search by GUID puts the raw bytes in the filter as an octet string;
 * agent/targets/active-directory.ts builds that filter as an object (see there why not a string).
 */

/** base64 of the raw objectGUID bytes (the anchor); throws unless the value is 16 bytes */
export function guidToAnchor(guid: Buffer): string {
  if (guid.length !== 16) throw new Error(`objectGUID must be 16 bytes, got ${guid.length}`);
  return guid.toString('base64');
}

/** The 16 GUID bytes of an anchor, or null when the anchor is not the base64 of 16 bytes. */
export function anchorToGuid(anchor: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]{22}==$/.test(anchor)) return null;
  const bytes = Buffer.from(anchor, 'base64');
  return bytes.length === 16 ? bytes : null;
}

/** The usual text form ({xxxxxxxx-xxxx-…}, first three groups little-endian), for logs and details. */
export function guidToString(guid: Buffer): string {
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = [...guid.subarray(from, to)];
    if (reverse) part.reverse();
    return part.map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}
