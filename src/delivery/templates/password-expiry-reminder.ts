import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import { formatDate, type Locale } from './locale.js';

export const passwordExpiryReminderData = z
  .object({
    displayName: z.string().min(1).max(256),
    userPrincipalName: z.string().min(1).max(256),
    daysLeft: z.number().int().min(0).max(3650),
    expiresAt: z.iso.datetime(),
  })
  .strict();

type Data = z.output<typeof passwordExpiryReminderData>;

function inDays(n: number, locale: Locale): string {
  if (locale === 'de') return n === 0 ? 'heute' : n === 1 ? 'morgen' : `in ${n} Tagen`;
  return n === 0 ? 'today' : n === 1 ? 'tomorrow' : `in ${n} days`;
}

/** Before the password expires (beyond Azure): days left and the link to the change page. */
export function passwordExpiryReminder(d: Data, locale: Locale, b: Branding): MessageContent {
  const url = `${b.publicUrl}/change-password`;
  const date = formatDate(d.expiresAt, locale);
  const when = inDays(d.daysLeft, locale);
  if (locale === 'de') {
    return {
      subject: d.daysLeft === 0 ? 'Ihr Passwort läuft heute ab' : `Ihr Passwort läuft ${when} ab`,
      greeting: `Hallo ${d.displayName},`,
      paragraphs: [
        `das Passwort Ihres Kontos ${d.userPrincipalName} bei ${b.name} läuft ${when} ab (${date}).`,
        'Ändern Sie es vorher, damit Sie sich weiter anmelden können:',
      ],
      action: { label: 'Passwort ändern', url },
      after: ['Wenn Sie Ihr Passwort bereits geändert haben, können Sie diese Nachricht ignorieren.'],
      short: `${b.name}: Ihr Passwort für ${d.userPrincipalName} läuft ${when} ab. Jetzt ändern: ${url}`,
    };
  }
  return {
    subject: d.daysLeft === 0 ? 'Your password expires today' : `Your password expires ${when}`,
    greeting: `Hello ${d.displayName},`,
    paragraphs: [
      `The password of your account ${d.userPrincipalName} at ${b.name} expires ${when} (${date}).`,
      'Change it before then so that you can keep signing in:',
    ],
    action: { label: 'Change password', url },
    after: ['If you have already changed your password, you can ignore this message.'],
    short: `${b.name}: your password for ${d.userPrincipalName} expires ${when}. Change it now: ${url}`,
  };
}
