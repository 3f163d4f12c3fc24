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
  return `${formatter(locale, 'dateTime').format(new Date(isoTimestamp))} UTC`;
}

export function formatDate(isoTimestamp: string, locale: Locale): string {
  return formatter(locale, 'date').format(new Date(isoTimestamp));
}

/** Formatters are made once per locale and style: building an Intl.DateTimeFormat costs ~1 ms, formatting a few µs. */
const formatters = new Map<string, Intl.DateTimeFormat>();
const STYLES = {
  dateTime: { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' },
  date: { dateStyle: 'long', timeZone: 'UTC' },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

function formatter(locale: Locale, style: keyof typeof STYLES): Intl.DateTimeFormat {
  const key = `${locale}:${style}`;
  let f = formatters.get(key);
  if (!f) formatters.set(key, (f = new Intl.DateTimeFormat(DATE_LOCALE[locale], STYLES[style])));
  return f;
}
