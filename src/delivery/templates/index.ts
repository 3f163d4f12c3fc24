import type { z } from 'zod';
import { adminResetNotice, adminResetNoticeData } from './admin-reset-notice.js';
import { contactAdmin, contactAdminData } from './contact-admin.js';
import type { Branding, InlineImage } from './branding.js';
import { renderHtml, renderText, type MessageContent } from './layout.js';
import type { Locale } from './locale.js';
import { passwordChanged, passwordChangedData } from './password-changed.js';
import { passwordExpiryReminder, passwordExpiryReminderData } from './password-expiry-reminder.js';
import { passwordResetByAdmin, passwordResetByAdminData } from './password-reset-by-admin.js';
import { testMessage, testMessageData } from './test-message.js';
import { verificationCode, verificationCodeData } from './verification-code.js';

export { brandingOf, contrastRatio, DEFAULT_ACCENT_COLOR, inlineLogo, relativeLuminance, textColorOn, type Branding, type BrandingSettings, type BrandingSource, type InlineImage } from './branding.js';
export { escapeHtml } from './layout.js';
export { DEFAULT_LOCALE, LOCALES, resolveLocale, type Locale } from './locale.js';

/**
 * Every template: the shape of its variables (checked when the message is queued and again when it
 * is rendered) and what it says. Add a template here and in its own file.
 */
const templates = {
  'admin-reset-notice': { data: adminResetNoticeData, content: adminResetNotice },
  'contact-admin': { data: contactAdminData, content: contactAdmin },
  'password-changed': { data: passwordChangedData, content: passwordChanged },
  'password-expiry-reminder': { data: passwordExpiryReminderData, content: passwordExpiryReminder },
  'password-reset-by-admin': { data: passwordResetByAdminData, content: passwordResetByAdmin },
  test: { data: testMessageData, content: testMessage },
  'verification-code': { data: verificationCodeData, content: verificationCode },
} as const satisfies Record<string, { data: z.ZodType; content: (d: never, locale: Locale, b: Branding) => MessageContent }>;

export type TemplateName = keyof typeof templates;
/** What a caller passes for each template. */
export type TemplateData = { [K in TemplateName]: z.input<(typeof templates)[K]['data']> };

export const TEMPLATE_NAMES = Object.keys(templates) as TemplateName[];

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(templates, name);
}

export interface RenderedMessage {
  subject: string;
  /** the email's text/plain part */
  text: string;
  /** the email's text/html part; every variable escaped */
  html: string;
  /** images the HTML shows by `cid:` (the tenant's logo), sent beside it as a multipart/related body */
  inlineImages: InlineImage[];
  /** the SMS text / what a voice call says */
  short: string;
}

/** Throws (a ZodError) when the variables do not fit the template: a programming error, not a retryable one. */
export function parseTemplateData<T extends TemplateName>(template: T, data: unknown): z.output<(typeof templates)[T]['data']> {
  return templates[template].data.parse(data) as z.output<(typeof templates)[T]['data']>;
}

/** Pure: the same template, locale, variables and branding give the same message. */
export function renderMessage<T extends TemplateName>(template: T, locale: Locale, data: TemplateData[T] | Record<string, unknown>, branding: Branding): RenderedMessage {
  const parsed = parseTemplateData(template, data);
  const content = (templates[template].content as (d: typeof parsed, l: Locale, b: Branding) => MessageContent)(parsed, locale, branding);
  return {
    subject: content.subject,
    text: renderText(content, branding, locale),
    html: renderHtml(content, branding, locale),
    inlineImages: branding.logo ? [branding.logo] : [],
    short: content.short,
  };
}
