import { contrastRatio, textColorOn } from '../delivery/templates/index.js';
import { AppError } from '../errors.js';
import { lockAuditChain } from '../store/audit-events.js';
import { findBranding, firstTenantIds, saveBranding, type StoredBranding } from '../store/branding.js';
import type { Executor } from '../store/database.js';
import { findTenantById, type Tenant } from '../store/tenants.js';
import { modified, recordAudit, type RequestContext } from './audit.js';
import type { DomainDeps } from './deps.js';
import { ssprPolicyOf } from './sspr-policy.js';
import { resolveTenant } from './tenants.js';

/**
 * Company branding (issue 8 item 3): the name, colour, logo and sign-in text the portals and the
 * messages show. Stored in tenant_branding; the help-desk link is the SSPR policy's and is only read
 * here. A named tenant that does not exist is tenant.not_found, as in the password hints: tenant ids
 * and domains are public anyway (the OpenID discovery document answers per tenant, as Azure's does).
 */

export interface BrandingView {
  tenantId: string | null;
  displayName: string;
  /** a data: URL (the CSP allows img-src data:), or null */
  logoUrl: string | null;
  primaryColor: string;
  onPrimaryColor: string;
  helpdeskUrl: string | null;
  helpdeskEmail: string | null;
  signInText: string | null;
}

/** What the admin page edits: the public view plus which values are the tenant's own. */
export interface AdminBrandingView extends BrandingView {
  tenantId: string;
  /** the tenant's directory name, shown when no branded name is set */
  tenantDisplayName: string;
  customDisplayName: string | null;
  customPrimaryColor: string | null;
  logoContentType: 'image/png' | 'image/jpeg' | null;
  logoBytes: number | null;
  updatedAt: string | null;
}

export const DEFAULT_PRIMARY_COLOR = '#0b5cad';

export const DEFAULT_BRANDING: Readonly<BrandingView> = Object.freeze({
  tenantId: null,
  displayName: 'Postern',
  logoUrl: null,
  primaryColor: DEFAULT_PRIMARY_COLOR,
  onPrimaryColor: textColorOn(DEFAULT_PRIMARY_COLOR),
  helpdeskUrl: null,
  helpdeskEmail: null,
  signInText: null,
});

/** Text on the primary colour (banner, buttons) must reach WCAG AA for normal text. */
export const TEXT_CONTRAST_MIN = 4.5;
/**
 * The primary colour itself is drawn on the white page (button edges, the current-page bar of the
 * navigation, the selected tab's underline): WCAG 1.4.11 asks 3:1 for such UI parts and state marks.
 */
export const PAGE_CONTRAST_MIN = 3;
export const LOGO_MAX_BYTES = 100 * 1024;
export const SIGN_IN_TEXT_MAX = 1000;
export const DISPLAY_NAME_MAX = 256;
export const LOGO_TYPES = ['image/png', 'image/jpeg'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

/** Longer than any domain name (253) or id: names no tenant, and is not looked up. */
const TENANT_KEY_MAX = 256;

/**
 * The tenant a public page names by `?tenant=<id or domain>`, for the branding and the password hints
 * alike: undefined when none is named (absent or blank), tenant.not_found when the named one does not
 * exist. Case does not matter for either form.
 */
export async function namedTenant(deps: Pick<DomainDeps, 'db'>, key: string | undefined): Promise<Tenant | undefined> {
  const k = key?.trim().toLowerCase() ?? '';
  if (k === '') return undefined;
  const tenant = k.length > TENANT_KEY_MAX ? undefined : await resolveTenant(deps, k);
  if (!tenant) throw new AppError('tenant.not_found');
  return tenant;
}

/** GET /api/v1/branding[?tenant=<id or domain>] — public. Without a tenant: the only one, else the defaults. */
export async function publicBranding(deps: Pick<DomainDeps, 'db'>, key: string | undefined): Promise<BrandingView> {
  let tenant = await namedTenant(deps, key);
  if (!tenant) {
    const ids = await firstTenantIds(deps.db);
    if (ids.length === 1) tenant = await findTenantById(deps.db, ids[0]!);
  }
  if (!tenant) return { ...DEFAULT_BRANDING };
  return viewOf(tenant, await findBranding(deps.db, tenant.id));
}

export async function getBranding(deps: Pick<DomainDeps, 'db'>, tenantId: string): Promise<AdminBrandingView> {
  const tenant = await findTenantById(deps.db, tenantId);
  if (!tenant) throw new AppError('tenant.not_found');
  return adminViewOf(tenant, await findBranding(deps.db, tenantId));
}

export interface BrandingPatch {
  /** null: back to the tenant's directory name */
  displayName?: string | null | undefined;
  /** `#rrggbb`; null: back to Postern's colour */
  primaryColor?: string | null | undefined;
  signInText?: string | null | undefined;
}

/** PATCH /api/v1/tenant/branding: merges, checks the colour's contrast, audits what changed. */
export async function updateBranding(deps: DomainDeps, ctx: RequestContext, tenantId: string, patch: BrandingPatch): Promise<AdminBrandingView> {
  if (patch.primaryColor !== undefined && patch.primaryColor !== null) assertContrast(patch.primaryColor.toLowerCase());
  return change(deps, ctx, tenantId, (before) => ({
    ...before,
    ...(patch.displayName !== undefined ? { displayName: blankToNull(patch.displayName) } : {}),
    ...(patch.primaryColor !== undefined ? { primaryColor: patch.primaryColor === null ? null : patch.primaryColor.toLowerCase() } : {}),
    ...(patch.signInText !== undefined ? { signInText: blankToNull(patch.signInText?.replace(/\r\n?/g, '\n') ?? null) } : {}),
  }));
}

/** PUT /api/v1/tenant/branding/logo: PNG or JPEG only, recognised by its first bytes, at most 100 KB. */
export async function setLogo(deps: DomainDeps, ctx: RequestContext, tenantId: string, input: { contentType: string; dataBase64: string }): Promise<AdminBrandingView> {
  const contentType = input.contentType.trim().toLowerCase().split(';')[0]!.trim();
  if (contentType.includes('svg')) {
    throw new AppError('branding.logo_invalid', { message: 'SVG logos are not accepted: an SVG image can carry script. Upload a PNG or JPEG image.', data: { field: 'contentType' } });
  }
  if (!(LOGO_TYPES as readonly string[]).includes(contentType)) {
    throw new AppError('branding.logo_invalid', { message: `The logo must be a PNG or JPEG image (image/png or image/jpeg), not '${contentType.slice(0, 64)}'.`, data: { field: 'contentType' } });
  }
  const b64 = input.dataBase64.replace(/\s+/g, '');
  if (b64.length > Math.ceil(LOGO_MAX_BYTES / 3) * 4 + 4) throw tooLarge(Math.floor((b64.length * 3) / 4));
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new AppError('branding.logo_invalid', { message: 'The logo data is not valid base64.', data: { field: 'dataBase64' } });
  }
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length > LOGO_MAX_BYTES) throw tooLarge(bytes.length);
  const actual = imageTypeOf(bytes);
  if (actual === null) {
    throw new AppError('branding.logo_invalid', { message: 'The file is not a PNG or JPEG image (its first bytes say otherwise). SVG and other formats are not accepted.', data: { field: 'dataBase64' } });
  }
  if (actual !== contentType) {
    throw new AppError('branding.logo_invalid', { message: `The file is a ${actual} image but was sent as ${contentType}.`, data: { field: 'contentType' } });
  }
  return change(deps, ctx, tenantId, (before) => ({ ...before, logo: { contentType: actual, base64: bytes.toString('base64') } }));
}

/** DELETE /api/v1/tenant/branding/logo. */
export async function removeLogo(deps: DomainDeps, ctx: RequestContext, tenantId: string): Promise<AdminBrandingView> {
  return change(deps, ctx, tenantId, (before) => ({ ...before, logo: null }));
}

/** The image type from the magic bytes: PNG's 8-byte signature, JPEG's SOI marker. */
export function imageTypeOf(bytes: Uint8Array): LogoType | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  return null;
}

/** Refuses a colour no text can be read on, or that vanishes on the white page. */
export function assertContrast(color: string): void {
  const withWhite = contrastRatio(color, '#ffffff');
  const withBlack = contrastRatio(color, '#000000');
  const text = Math.max(withWhite, withBlack);
  const round = (n: number): number => Math.round(n * 100) / 100;
  const data = { field: 'primaryColor', contrastWithWhite: round(withWhite), contrastWithBlack: round(withBlack), required: { text: TEXT_CONTRAST_MIN, page: PAGE_CONTRAST_MIN } };
  if (text < TEXT_CONTRAST_MIN) {
    throw new AppError('branding.contrast_too_low', {
      message: `Invalid value for 'primaryColor': neither white (${round(withWhite)}:1) nor black text (${round(withBlack)}:1) reaches ${TEXT_CONTRAST_MIN}:1 on ${color}.`,
      data,
    });
  }
  if (withWhite < PAGE_CONTRAST_MIN) {
    throw new AppError('branding.contrast_too_low', {
      message: `Invalid value for 'primaryColor': ${color} reaches only ${round(withWhite)}:1 against the white page; buttons, the navigation's current-page mark and tab underlines need ${PAGE_CONTRAST_MIN}:1. Choose a darker colour.`,
      data,
    });
  }
}

type Editable = Omit<StoredBranding, 'tenantId' | 'updatedAt'>;

const EMPTY: Editable = { displayName: null, logo: null, primaryColor: null, signInText: null };

/** Reads, applies `edit`, writes and audits in one transaction; a change that changes nothing writes nothing. */
async function change(deps: DomainDeps, ctx: RequestContext, tenantId: string, edit: (before: Editable) => Editable): Promise<AdminBrandingView> {
  return deps.db.transaction().execute(async (trx: Executor) => {
    await lockAuditChain(trx, tenantId);
    const tenant = await findTenantById(trx, tenantId);
    if (!tenant) throw new AppError('tenant.not_found');
    const stored = await findBranding(trx, tenantId);
    const before: Editable = stored ? { displayName: stored.displayName, logo: stored.logo, primaryColor: stored.primaryColor, signInText: stored.signInText } : EMPTY;
    const after = edit(before);
    const logoText = (l: Editable['logo']): string | null => (l === null ? null : `${l.contentType}, ${Buffer.byteLength(l.base64, 'base64')} bytes`);
    const changes = [
      ...(before.displayName !== after.displayName ? [modified('displayName', before.displayName, after.displayName)] : []),
      ...(before.primaryColor !== after.primaryColor ? [modified('primaryColor', before.primaryColor, after.primaryColor)] : []),
      ...(before.signInText !== after.signInText ? [modified('signInText', before.signInText, after.signInText)] : []),
      // the bytes are not audited: their type and size, and whether they changed
      ...(before.logo?.base64 !== after.logo?.base64 ? [modified('logo', logoText(before.logo), logoText(after.logo))] : []),
    ];
    if (changes.length === 0) return adminViewOf(tenant, stored);
    const saved: StoredBranding = { tenantId, ...after, updatedAt: deps.clock.now().toISOString() };
    await saveBranding(trx, saved);
    await recordAudit(deps, trx, ctx, {
      tenantId,
      activity: 'Update company branding',
      category: 'DirectoryManagement',
      loggedByService: 'Core Directory',
      operationType: 'Update',
      targets: [{ id: tenantId, displayName: tenant.displayName, type: 'Directory', userPrincipalName: null, modifiedProperties: changes }],
    });
    return adminViewOf(tenant, saved);
  });
}

function viewOf(tenant: Tenant, b: StoredBranding | undefined): BrandingView {
  const policy = ssprPolicyOf(tenant);
  const primaryColor = b?.primaryColor ?? DEFAULT_PRIMARY_COLOR;
  return {
    tenantId: tenant.id,
    displayName: b?.displayName ?? tenant.displayName,
    logoUrl: b?.logo ? `data:${b.logo.contentType};base64,${b.logo.base64}` : null,
    primaryColor,
    onPrimaryColor: textColorOn(primaryColor),
    helpdeskUrl: policy.helpdeskUrl,
    helpdeskEmail: policy.helpdeskEmail,
    signInText: b?.signInText ?? null,
  };
}

function adminViewOf(tenant: Tenant, b: StoredBranding | undefined): AdminBrandingView {
  return {
    ...viewOf(tenant, b),
    tenantId: tenant.id,
    tenantDisplayName: tenant.displayName,
    customDisplayName: b?.displayName ?? null,
    customPrimaryColor: b?.primaryColor ?? null,
    logoContentType: b?.logo?.contentType ?? null,
    logoBytes: b?.logo ? Buffer.byteLength(b.logo.base64, 'base64') : null,
    updatedAt: b?.updatedAt ?? null,
  };
}

function blankToNull(v: string | null): string | null {
  if (v === null) return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function tooLarge(bytes: number): AppError {
  return new AppError('branding.logo_too_large', { message: `The logo is ${Math.ceil(bytes / 1024)} KB; at most ${LOGO_MAX_BYTES / 1024} KB are accepted.`, data: { field: 'dataBase64', maxBytes: LOGO_MAX_BYTES } });
}
