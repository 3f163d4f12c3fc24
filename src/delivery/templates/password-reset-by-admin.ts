import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import { formatDateTime, type Locale } from './locale.js';

/**
 * To the user after an administrator reset their password (reference §1.6 "notify users on password
 * resets"). It says who did it in general terms and whether a change is due at the next sign-in; it
 * never carries the password (the administrator hands that over).
 */
export const passwordResetByAdminData = z
  .object({
    displayName: z.string().min(1).max(256),
    userPrincipalName: z.string().min(1).max(256),
    resetAt: z.iso.datetime(),
    /** true: the password set is temporary and must be changed at the next sign-in */
    mustChange: z.boolean(),
  })
  .strict();

type Data = z.output<typeof passwordResetByAdminData>;

export function passwordResetByAdmin(d: Data, locale: Locale, b: Branding): MessageContent {
  const when = formatDateTime(d.resetAt, locale);
  const url = `${b.publicUrl}/`;
  if (locale === 'de') {
    return {
      subject: 'Ihr Passwort wurde geändert',
      greeting: `Hallo ${d.displayName},`,
      paragraphs: [
        `ein Administrator hat am ${when} das Passwort Ihres Kontos ${d.userPrincipalName} bei ${b.name} zurückgesetzt.`,
        ...(d.mustChange ? ['Ihr Administrator gibt Ihnen ein vorläufiges Passwort. Bei der nächsten Anmeldung wählen Sie ein neues.'] : []),
        'Wenn Sie das nicht erwartet haben, wenden Sie sich sofort an Ihren Administrator.',
      ],
      action: { label: 'Zum Passwortportal', url },
      short: `${b.name}: Ein Administrator hat am ${when} das Passwort von ${d.userPrincipalName} zurückgesetzt.`,
    };
  }
  return {
    subject: 'Your password was changed',
    greeting: `Hello ${d.displayName},`,
    paragraphs: [
      `An administrator reset the password of your account ${d.userPrincipalName} at ${b.name} on ${when}.`,
      ...(d.mustChange ? ['Your administrator gives you a temporary password. You will choose a new one when you next sign in.'] : []),
      'If you did not expect this, contact your administrator now.',
    ],
    action: { label: 'Open the password portal', url },
    short: `${b.name}: an administrator reset the password of ${d.userPrincipalName} on ${when}.`,
  };
}
