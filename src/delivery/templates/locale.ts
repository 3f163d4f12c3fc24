export const LOCALES = ['en', 'de'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

/** `de`, `de-AT`, `DE_ch` → `de`; anything unsupported or missing → `en`. */
export function resolveLocale(requested: string | null | undefined): Locale {
  const primary = (requested ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return (LOCALES as readonly string[]).includes(primary) ? (primary as Locale) : DEFAULT_LOCALE;
}

const DATE_LOCALE: Record<Locale, string> = { en: 'en-GB', de: 'de-DE' };

/**
 * A moment in words, in UTC: we do not know the reader's time zone, and naming the zone is better
 * than silently using the server's.
 */
export function formatDateTime(isoTimestamp: string, locale: Locale): string {
  const d = new Date(isoTimestamp);
  const text = new Intl.DateTimeFormat(DATE_LOCALE[locale], { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(d);
  return `${text} UTC`;
}

export function formatDate(isoTimestamp: string, locale: Locale): string {
  return new Intl.DateTimeFormat(DATE_LOCALE[locale], { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(isoTimestamp));
}
