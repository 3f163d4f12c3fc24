import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import type { Locale } from './locale.js';

/** `code` is a secret: callers pass it in `secretData` so the outbox row holds it sealed. */
export const verificationCodeData = z
  .object({
    displayName: z.string().min(1).max(256),
    code: z.string().regex(/^\d{8}$/),
    minutes: z.number().int().min(1).max(60),
  })
  .strict();

type Data = z.output<typeof verificationCodeData>;

/** An 8-digit code for the address or phone it was sent to (registration, and later reset). */
export function verificationCode(d: Data, locale: Locale, b: Branding): MessageContent {
  const spaced = `${d.code.slice(0, 4)} ${d.code.slice(4)}`;
  if (locale === 'de') {
    return {
      subject: `Ihr Bestätigungscode für ${b.name}: ${d.code}`,
      greeting: `Hallo ${d.displayName},`,
      paragraphs: [`Ihr Bestätigungscode lautet: ${d.code}`, `Er ist ${d.minutes} Minuten gültig. Geben Sie ihn an niemanden weiter.`, 'Wenn Sie keinen Code angefordert haben, ignorieren Sie diese Nachricht.'],
      short: `${b.name}: Ihr Bestätigungscode ist ${spaced}. Gültig ${d.minutes} Minuten. Nicht weitergeben.`,
    };
  }
  return {
    subject: `Your ${b.name} verification code: ${d.code}`,
    greeting: `Hello ${d.displayName},`,
    paragraphs: [`Your verification code is: ${d.code}`, `It is valid for ${d.minutes} minutes. Do not share it with anyone.`, 'If you did not ask for a code, ignore this message.'],
    short: `${b.name}: your verification code is ${spaced}. Valid ${d.minutes} minutes. Do not share it.`,
  };
}
