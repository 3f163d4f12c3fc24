import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import { formatDateTime, type Locale } from './locale.js';

/** To every other Global Administrator when an administrator reset their own password (reference §1.6). */
export const adminResetNoticeData = z
  .object({
    displayName: z.string().min(1).max(256),
    adminDisplayName: z.string().min(1).max(256),
    adminUserPrincipalName: z.string().min(1).max(256),
    resetAt: z.iso.datetime(),
  })
  .strict();

type Data = z.output<typeof adminResetNoticeData>;

export function adminResetNotice(d: Data, locale: Locale, b: Branding): MessageContent {
  const when = formatDateTime(d.resetAt, locale);
  const url = `${b.publicUrl}/`;
  if (locale === 'de') {
    return {
      subject: `Ein Administrator hat sein Passwort zurückgesetzt: ${d.adminUserPrincipalName}`,
      greeting: `Hallo ${d.displayName},`,
      paragraphs: [`${d.adminDisplayName} (${d.adminUserPrincipalName}) hat am ${when} das eigene Passwort bei ${b.name} per Self-Service zurückgesetzt.`, 'Wenn das unerwartet ist, prüfen Sie das Überwachungsprotokoll.'],
      action: { label: 'Zum Verwaltungsportal', url },
      short: `${b.name}: ${d.adminUserPrincipalName} hat am ${when} das eigene Passwort zurückgesetzt.`,
    };
  }
  return {
    subject: `An administrator reset their password: ${d.adminUserPrincipalName}`,
    greeting: `Hello ${d.displayName},`,
    paragraphs: [`${d.adminDisplayName} (${d.adminUserPrincipalName}) reset their own password at ${b.name} through self-service on ${when}.`, 'If this is unexpected, review the audit log.'],
    action: { label: 'Open the admin portal', url },
    short: `${b.name}: ${d.adminUserPrincipalName} reset their own password on ${when}.`,
  };
}
