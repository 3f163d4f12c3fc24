import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import { formatDateTime, type Locale } from './locale.js';

/**
 * "Contact your administrator" from the reset flow (reference §1.7): to password administrators, else
 * user administrators, else global administrators. Names the user and the time, tells the admin how
 * to reset; carries no secret and no link the user could have influenced.
 */
export const contactAdminData = z
  .object({
    displayName: z.string().min(1).max(256),
    userDisplayName: z.string().min(1).max(256),
    userPrincipalName: z.string().min(1).max(256),
    requestedAt: z.iso.datetime(),
  })
  .strict();

type Data = z.output<typeof contactAdminData>;

export function contactAdmin(d: Data, locale: Locale, b: Branding): MessageContent {
  const when = formatDateTime(d.requestedAt, locale);
  const url = `${b.publicUrl}/`;
  if (locale === 'de') {
    return {
      subject: `Bitte um Hilfe beim Zurücksetzen des Passworts: ${d.userPrincipalName}`,
      greeting: `Hallo ${d.displayName},`,
      paragraphs: [
        `${d.userDisplayName} (${d.userPrincipalName}) hat am ${when} bei der Self-Service-Kennwortzurücksetzung von ${b.name} um Hilfe durch einen Administrator gebeten.`,
        'Prüfen Sie die Identität der Person auf einem anderen Weg, zum Beispiel telefonisch. Setzen Sie dann im Verwaltungsportal unter „Benutzer“ das Passwort zurück und geben Sie das vorläufige Passwort nur persönlich weiter.',
        'Wenn die Anfrage unerwartet ist, prüfen Sie das Überwachungsprotokoll.',
      ],
      action: { label: 'Zum Verwaltungsportal', url },
      short: `${b.name}: ${d.userPrincipalName} bittet am ${when} um Hilfe beim Zurücksetzen des Passworts.`,
    };
  }
  return {
    subject: `Password reset help requested: ${d.userPrincipalName}`,
    greeting: `Hello ${d.displayName},`,
    paragraphs: [
      `${d.userDisplayName} (${d.userPrincipalName}) asked for an administrator's help from the ${b.name} self-service password reset on ${when}.`,
      'Confirm who is asking through another channel, for example by phone. Then reset the password in the admin portal under Users, and hand over the temporary password in person.',
      'If this request is unexpected, review the audit log.',
    ],
    action: { label: 'Open the admin portal', url },
    short: `${b.name}: ${d.userPrincipalName} asked for help resetting their password on ${when}.`,
  };
}
