import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, query } from './api';

/**
 * The tenant's branding (name, logo, colours, help-desk link), from the public
 * GET /api/v1/branding[?tenant=<id or domain>]: the signed-in user's tenant, else `?tenant=` in the
 * page URL, else the default tenant. Colours become CSS custom properties on <html> (set through the
 * CSSOM, which the strict CSP allows; no inline style element is written).
 */
export interface Branding {
  tenantId: string | null;
  displayName: string;
  /** a data: URL or a same-origin path, or null for none */
  logoUrl: string | null;
  primaryColor: string;
  /** text colour on the primary colour, chosen by the server for contrast */
  onPrimaryColor: string;
  helpdeskUrl: string | null;
  helpdeskEmail: string | null;
  signInText: string | null;
}

export const DEFAULT_BRANDING: Branding = {
  tenantId: null,
  displayName: 'Postern',
  logoUrl: null,
  primaryColor: '#0b5cad',
  onPrimaryColor: '#ffffff',
  helpdeskUrl: null,
  helpdeskEmail: null,
  signInText: null,
};

const BrandingContext = createContext<Branding>(DEFAULT_BRANDING);
const RefreshContext = createContext<() => void>(() => undefined);

export function applyBranding(b: Branding): void {
  const root = document.documentElement.style;
  root.setProperty('--brand-primary', b.primaryColor);
  root.setProperty('--brand-on-primary', b.onPrimaryColor);
}

export function BrandingProvider({ tenant, children }: { tenant: string | null; children: ReactNode }) {
  const [branding, setBranding] = useState<Branding>(DEFAULT_BRANDING);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    api
      .get<Branding>(`/api/v1/branding${query({ tenant })}`, { signal: controller.signal })
      .then((b) => {
        const merged = { ...DEFAULT_BRANDING, ...b };
        applyBranding(merged);
        setBranding(merged);
      })
      .catch(() => {
        // an unknown tenant (404) or no answer: unbranded pages still work, and never keep the
        // previous tenant's look
        if (controller.signal.aborted) return;
        applyBranding(DEFAULT_BRANDING);
        setBranding(DEFAULT_BRANDING);
      });
    return () => controller.abort();
  }, [tenant, generation]);
  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  return (
    <RefreshContext.Provider value={refresh}>
      <BrandingContext.Provider value={branding}>{children}</BrandingContext.Provider>
    </RefreshContext.Provider>
  );
}

/** Reads the branding again (after an admin saved it). */
export function useRefreshBranding(): () => void {
  return useContext(RefreshContext);
}

export function useBranding(): Branding {
  return useContext(BrandingContext);
}
