import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';

/**
 * English and German. The language comes from `?mkt=` (as Microsoft's pages take it: `de`, `de-DE`,
 * `en-US`), else the browser's preferred languages, else English. Every page's strings live in
 * locales/<lang>/<namespace>.json, one namespace per area; a key missing in German is a test failure
 * (test/web/locales.test.ts), never a silent English fallback.
 */
export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

type Resources = Record<string, Record<string, Record<string, unknown>>>;

const files = import.meta.glob<Record<string, unknown>>('../locales/*/*.json', { eager: true, import: 'default' });

export function bundledResources(): Resources {
  const out: Resources = {};
  for (const [path, content] of Object.entries(files)) {
    const m = /locales\/([a-z]{2})\/([\w-]+)\.json$/.exec(path);
    if (!m) continue;
    const [, lang, ns] = m as unknown as [string, string, string];
    (out[lang] ??= {})[ns] = content;
  }
  return out;
}

export function pickLanguage(search: string, preferred: readonly string[]): Language {
  const asked = new URLSearchParams(search).get('mkt');
  const candidates = asked ? [asked, ...preferred] : preferred;
  for (const c of candidates) {
    const base = c.toLowerCase().split(/[-_]/)[0];
    if ((LANGUAGES as readonly string[]).includes(base ?? '')) return base as Language;
  }
  return 'en';
}

export async function initI18n(): Promise<typeof i18next> {
  const lng = pickLanguage(window.location.search, navigator.languages ?? [navigator.language]);
  const resources = bundledResources();
  await i18next.use(initReactI18next).init({
    lng,
    fallbackLng: false,
    supportedLngs: [...LANGUAGES],
    ns: Object.keys(resources.en ?? {}),
    defaultNS: 'common',
    resources,
    interpolation: { escapeValue: false }, // React escapes
    returnNull: false,
  });
  document.documentElement.lang = lng;
  i18next.on('languageChanged', (l) => {
    document.documentElement.lang = l;
  });
  return i18next;
}

/** Dates and numbers in the page's language. */
export function formatDateTime(iso: string | null | undefined, lang = i18next.language): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function formatDate(iso: string | null | undefined, lang = i18next.language): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

export function formatNumber(n: number, options: Intl.NumberFormatOptions = {}, lang = i18next.language): string {
  return new Intl.NumberFormat(lang, options).format(n);
}
