import { textColorOn, type Branding } from './branding.js';
import type { Locale } from './locale.js';

/**
 * What a template says, as plain text only. The layout turns it into the text and HTML parts and
 * escapes every piece on the way into HTML, so no template can forget to.
 */
export interface MessageContent {
  subject: string;
  greeting: string;
  paragraphs: string[];
  action?: { label: string; url: string } | undefined;
  /** paragraphs after the action */
  after?: string[] | undefined;
  /** the whole message for SMS and voice: short, no markup */
  short: string;
}

const FOOTER: Record<Locale, { sentBy: (name: string) => string; help: string; automatic: string }> = {
  en: {
    sentBy: (name) => `This message was sent by ${name}.`,
    help: 'Questions? Contact your help desk:',
    automatic: 'This is an automatic message; replies are not read.',
  },
  de: {
    sentBy: (name) => `Diese Nachricht wurde von ${name} gesendet.`,
    help: 'Fragen? Wenden Sie sich an Ihren Helpdesk:',
    automatic: 'Dies ist eine automatische Nachricht; Antworten werden nicht gelesen.',
  },
};

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function supportLines(branding: Branding): string[] {
  return [branding.supportUrl, branding.supportEmail].filter((v): v is string => v !== undefined);
}

export function renderText(content: MessageContent, branding: Branding, locale: Locale): string {
  const f = FOOTER[locale];
  const lines: string[] = [content.greeting, '', ...content.paragraphs.flatMap((p) => [p, ''])];
  if (content.action) lines.push(`${content.action.label}: ${content.action.url}`, '');
  for (const p of content.after ?? []) lines.push(p, '');
  lines.push('-- ', f.sentBy(branding.name));
  const support = supportLines(branding);
  if (support.length > 0) lines.push(`${f.help} ${support.join(' | ')}`);
  lines.push(f.automatic);
  return `${lines.join('\n')}\n`;
}

/** The uploaded logo by its Content-ID, else an older https logo URL, else the name in bold. */
function logoHtml(branding: Branding): string {
  const e = escapeHtml;
  if (branding.logo) return `<img src="cid:${e(branding.logo.cid)}" alt="${e(branding.name)}" style="max-height:48px">`;
  if (branding.logoUrl) return `<img src="${e(branding.logoUrl)}" alt="${e(branding.name)}" style="max-height:48px">`;
  return `<strong style="font-size:18px">${e(branding.name)}</strong>`;
}

export function renderHtml(content: MessageContent, branding: Branding, locale: Locale): string {
  const f = FOOTER[locale];
  const e = escapeHtml;
  // accentColor and the URLs were validated by brandingOf / the template (http(s) only); escaped anyway
  const accent = e(branding.accentColor);
  const p = (text: string): string => `<p style="margin:0 0 16px 0">${e(text)}</p>`;
  const support = supportLines(branding).map((s) =>
    s.includes('@') && !s.includes('/') ? `<a href="mailto:${e(s)}">${e(s)}</a>` : `<a href="${e(s)}">${e(s)}</a>`,
  );
  return [
    '<!DOCTYPE html>',
    `<html lang="${locale}">`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(content.subject)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f5f5f5;font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#242424">',
    '<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff">',
    `<div style="border-bottom:4px solid ${accent};padding-bottom:12px;margin-bottom:24px">`,
    logoHtml(branding),
    '</div>',
    p(content.greeting),
    ...content.paragraphs.map(p),
    content.action
      ? `<p style="margin:24px 0"><a href="${e(content.action.url)}" style="background:${accent};color:${textColorOn(branding.accentColor)};padding:10px 20px;text-decoration:none;border-radius:4px;display:inline-block">${e(content.action.label)}</a></p>` +
        `<p style="margin:0 0 16px 0;font-size:12px;color:#616161">${e(content.action.url)}</p>`
      : '',
    ...(content.after ?? []).map(p),
    '<hr style="border:none;border-top:1px solid #e0e0e0;margin:24px 0">',
    `<p style="font-size:12px;color:#616161;margin:0 0 8px 0">${e(f.sentBy(branding.name))}</p>`,
    support.length > 0 ? `<p style="font-size:12px;color:#616161;margin:0 0 8px 0">${e(f.help)} ${support.join(' | ')}</p>` : '',
    `<p style="font-size:12px;color:#616161;margin:0">${e(f.automatic)}</p>`,
    '</div></body></html>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}
