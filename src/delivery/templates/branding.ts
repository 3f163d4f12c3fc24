import { createHash } from 'node:crypto';
import { z } from 'zod';

/** What a message shows of its sender. Built per tenant; `publicUrl` is the one origin links use. */
export interface Branding {
  /** the name the message is signed with: the tenant's branding name, else its display name */
  readonly name: string;
  readonly publicUrl: string;
  /** `#rrggbb`, used for the heading rule and the button */
  readonly accentColor: string;
  /** the tenant's uploaded logo, sent inside the message and shown through its Content-ID */
  readonly logo: InlineImage | undefined;
  /** an https logo from the older settings.branding, used only when no logo was uploaded */
  readonly logoUrl: string | undefined;
  readonly supportEmail: string | undefined;
  readonly supportUrl: string | undefined;
}

/**
 * An image carried in the message (a part of its multipart/related body) and shown by `cid:` from the
 * HTML: mail clients block data: URIs, and a remote URL would tell the logo's host who opened what.
 */
export interface InlineImage {
  /** without angle brackets; unique to the bytes, so a changed logo is never confused with a cached one */
  readonly cid: string;
  readonly filename: string;
  readonly contentType: 'image/png' | 'image/jpeg';
  readonly content: Buffer;
}

export const DEFAULT_ACCENT_COLOR = '#0f6cbd';

/**
 * The optional `branding` object in a tenant's settings JSON. Each field is checked on its own shape
 * (a colour cannot smuggle CSS, a URL must be http(s)); a bad or missing field falls back to the default.
 */
const brandingSettings = z.object({
  displayName: z.string().trim().min(1).max(256).optional().catch(undefined),
  accentColor: z.string().regex(/^#[0-9a-fA-F]{6}$/).optional().catch(undefined),
  logoUrl: z.url({ protocol: /^https$/ }).max(2048).optional().catch(undefined),
  supportEmail: z.email().max(256).optional().catch(undefined),
  supportUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().catch(undefined),
});

export type BrandingSettings = z.infer<typeof brandingSettings>;

/** The SSPR policy's help-desk link (settings.sspr), the support line of messages unless branding names one. */
const ssprHelpdesk = z.object({
  helpdeskUrl: z.url({ protocol: /^https?$/ }).max(2048).nullable().optional().catch(undefined),
  helpdeskEmail: z.email().max(256).nullable().optional().catch(undefined),
});

const HEX_COLOR = /^#[0-9a-fA-F]{6}$/;

/**
 * What a message is sent with: the tenant's display name and settings JSON, and the tenant_branding
 * row's name and colour when the tenant has one (issue 8; these win over the older settings.branding).
 */
export interface BrandingSource {
  displayName: string;
  settings: string | Record<string, unknown>;
  brandingName?: string | null | undefined;
  brandingColor?: string | null | undefined;
  /** the tenant_branding logo as stored (base64), read when the message is sent, not when it is queued */
  logo?: { contentType: 'image/png' | 'image/jpeg'; base64: string } | null | undefined;
}

/** The stored logo as an inline image; its Content-ID names a hash of the bytes. */
export function inlineLogo(logo: { contentType: 'image/png' | 'image/jpeg'; base64: string }): InlineImage {
  const content = Buffer.from(logo.base64, 'base64');
  const digest = createHash('sha256').update(content).digest('hex').slice(0, 16);
  return { cid: `logo-${digest}@postern`, filename: logo.contentType === 'image/png' ? 'logo.png' : 'logo.jpg', contentType: logo.contentType, content };
}

export function brandingOf(tenant: BrandingSource, publicUrl: string): Branding {
  let settings: unknown = tenant.settings;
  if (typeof settings === 'string') {
    try {
      settings = JSON.parse(settings);
    } catch {
      settings = {};
    }
  }
  const raw = settings !== null && typeof settings === 'object' ? (settings as { branding?: unknown }).branding : undefined;
  const parsed = brandingSettings.safeParse(raw ?? {});
  const b: BrandingSettings = parsed.success ? parsed.data : {};
  const rawSspr = settings !== null && typeof settings === 'object' ? (settings as { sspr?: unknown }).sspr : undefined;
  const sspr = ssprHelpdesk.safeParse(rawSspr ?? {});
  const helpdesk = sspr.success ? sspr.data : {};
  const brandedName = typeof tenant.brandingName === 'string' && tenant.brandingName.trim() !== '' ? tenant.brandingName.trim() : undefined;
  const brandedColor = typeof tenant.brandingColor === 'string' && HEX_COLOR.test(tenant.brandingColor) ? tenant.brandingColor : undefined;
  return {
    name: brandedName ?? b.displayName ?? tenant.displayName,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    accentColor: brandedColor ?? b.accentColor ?? DEFAULT_ACCENT_COLOR,
    logo: tenant.logo ? inlineLogo(tenant.logo) : undefined,
    logoUrl: b.logoUrl,
    supportEmail: b.supportEmail ?? helpdesk.helpdeskEmail ?? undefined,
    supportUrl: b.supportUrl ?? helpdesk.helpdeskUrl ?? undefined,
  };
}

/** WCAG 2 relative luminance of a `#rrggbb` colour. */
export function relativeLuminance(hex: string): number {
  const channel = (i: number): number => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** White or black, whichever contrasts more with `hex`: the text colour on the brand colour. */
export function textColorOn(hex: string): '#ffffff' | '#000000' {
  return contrastRatio(hex, '#ffffff') >= contrastRatio(hex, '#000000') ? '#ffffff' : '#000000';
}
