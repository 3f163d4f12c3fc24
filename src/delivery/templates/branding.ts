import { z } from 'zod';

/** What a message shows of its sender. Built per tenant; `publicUrl` is the one origin links use. */
export interface Branding {
  /** the name the message is signed with: the tenant's branding name, else its display name */
  readonly name: string;
  readonly publicUrl: string;
  /** `#rrggbb`, used for the heading rule and the button */
  readonly accentColor: string;
  readonly logoUrl: string | undefined;
  readonly supportEmail: string | undefined;
  readonly supportUrl: string | undefined;
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

export function brandingOf(tenant: { displayName: string; settings: string | Record<string, unknown> }, publicUrl: string): Branding {
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
  return {
    name: b.displayName ?? tenant.displayName,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    accentColor: b.accentColor ?? DEFAULT_ACCENT_COLOR,
    logoUrl: b.logoUrl,
    supportEmail: b.supportEmail,
    supportUrl: b.supportUrl,
  };
}
