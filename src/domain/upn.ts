/**
 * Azure's UPN rules (reference/azure-password-management.md §7.1): allowed characters
 * A–Z a–z 0–9 ' . - _ ! # ^ ~ before the @; exactly one @; no "." directly before the @;
 * at most 113 characters, 64 before the @ and 48 after it.
 */
export interface UpnProblem {
  readonly reason: string;
}

const LOCAL = /^[A-Za-z0-9'._!#^~-]+$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function checkDomainName(domain: string): UpnProblem | undefined {
  if (domain.length === 0 || domain.length > 48) return { reason: 'the domain must be 1 to 48 characters long' };
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => DOMAIN_LABEL.test(l))) {
    return { reason: `"${domain}" is not a domain name (letters, digits and hyphens in dot-separated labels)` };
  }
  return undefined;
}

/** Returns why `upn` breaks the rules, or undefined when it is valid. */
export function checkUpn(upn: string): UpnProblem | undefined {
  if (upn.length > 113) return { reason: 'it is longer than 113 characters' };
  const at = upn.indexOf('@');
  if (at < 0) return { reason: 'it has no @ and domain' };
  if (upn.indexOf('@', at + 1) >= 0) return { reason: 'it has more than one @' };
  const local = upn.slice(0, at);
  const domain = upn.slice(at + 1);
  if (local.length === 0) return { reason: 'the part before the @ is empty' };
  if (local.length > 64) return { reason: 'the part before the @ is longer than 64 characters' };
  if (!LOCAL.test(local)) {
    return { reason: "the part before the @ may only contain letters A–Z, digits and ' . - _ ! # ^ ~" };
  }
  if (local.startsWith('.')) return { reason: 'it may not start with a period' };
  if (local.endsWith('.')) return { reason: 'a period may not come directly before the @' };
  if (domain.length > 48) return { reason: 'the domain after the @ is longer than 48 characters' };
  return checkDomainName(domain);
}

export function domainOf(upn: string): string {
  return upn.slice(upn.lastIndexOf('@') + 1).toLowerCase();
}
