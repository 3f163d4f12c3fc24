import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import { formatDateTime, type Locale } from './locale.js';

export const passwordChangedData = z
  .object({
    displayName: z.string().min(1).max(256),
    userPrincipalName: z.string().min(1).max(256),
    changedAt: z.iso.datetime(),
    /** 'reset': someone else set it (an admin, or self-service reset); 'change': the user changed it */
    kind: z.enum(['change', 'reset']).default('change'),
  })
  .strict();

type Data = z.output<typeof passwordChangedData>;

/** To the user after every change or reset: what happened, when, and what to do if it was not them. */
export function passwordChanged(d: Data, locale: Locale, b: Branding): MessageContent {
  const when = formatDateTime(d.changedAt, locale);
  const url = `${b.publicUrl}/`;
  if (locale === 'de') {
    return {
      subject: 'Ihr Passwort wurde geändert',
      greeting: `Hallo ${d.displayName},`,
      paragraphs: [
        d.kind === 'reset'
          ? `das Passwort Ihres Kontos ${d.userPrincipalName} bei ${b.name} wurde am ${when} zurückgesetzt.`
          : `das Passwort Ihres Kontos ${d.userPrincipalName} bei ${b.name} wurde am ${when} geändert.`,
        'Wenn Sie das waren, ist nichts weiter zu tun.',
        'Wenn nicht, setzen Sie Ihr Passwort sofort zurück und informieren Sie Ihren Administrator:',
      ],
      action: { label: 'Zum Passwortportal', url },
      short: `${b.name}: Das Passwort von ${d.userPrincipalName} wurde am ${when} geändert. Nicht Sie? Sofort zurücksetzen: ${url}`,
    };
  }
  return {
    subject: 'Your password was changed',
    greeting: `Hello ${d.displayName},`,
    paragraphs: [
      d.kind === 'reset'
        ? `The password of your account ${d.userPrincipalName} at ${b.name} was reset on ${when}.`
        : `The password of your account ${d.userPrincipalName} at ${b.name} was changed on ${when}.`,
      'If this was you, there is nothing else to do.',
      'If it was not you, reset your password now and tell your administrator:',
    ],
    action: { label: 'Open the password portal', url },
    short: `${b.name}: the password of ${d.userPrincipalName} was changed on ${when}. Not you? Reset it now: ${url}`,
  };
}
