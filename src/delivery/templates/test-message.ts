import { z } from 'zod';
import type { Branding } from './branding.js';
import type { MessageContent } from './layout.js';
import type { Locale } from './locale.js';

export const testMessageData = z.object({ note: z.string().max(1000).optional() }).strict();

type Data = z.output<typeof testMessageData>;

/** Proves the delivery path end to end (an admin's "send a test message"). */
export function testMessage(d: Data, locale: Locale, b: Branding): MessageContent {
  if (locale === 'de') {
    return {
      subject: `Testnachricht von ${b.name}`,
      greeting: 'Hallo,',
      paragraphs: ['dies ist eine Testnachricht. Wenn Sie sie lesen, funktioniert der Versand.', ...(d.note ? [d.note] : [])],
      short: `${b.name}: Testnachricht. Der Versand funktioniert.${d.note ? ` ${d.note}` : ''}`,
    };
  }
  return {
    subject: `Test message from ${b.name}`,
    greeting: 'Hello,',
    paragraphs: ['This is a test message. If you can read it, delivery works.', ...(d.note ? [d.note] : [])],
    short: `${b.name}: test message. Delivery works.${d.note ? ` ${d.note}` : ''}`,
  };
}
