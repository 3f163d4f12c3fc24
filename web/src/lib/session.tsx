import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, onSessionLost, setCsrfToken } from './api';

/**
 * The signed-in user, from GET /api/v1/session (cookie + CSRF token). `signIn` answers the server's
 * result so the sign-in page can show the "change required" and "register security info" interrupts.
 */

export interface SessionUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  tenantId: string;
}

export interface SessionRole {
  id: string;
  displayName: string;
}

export interface SessionView {
  user: SessionUser;
  roles: SessionRole[];
  csrfToken: string;
  expiresDateTime: string;
  /** whole days left when the password expires within the notification window (sign-in and every GET) */
  passwordExpiresInDays?: number;
  registrationRequired?: boolean;
  registrationReason?: string;
}

/** Role template ids that open the admin portal (any directory role that manages users, policy or reports). */
export const ADMIN_ROLE_IDS = new Set([
  '62e90394-69f5-4237-9190-012177145e10', // Global Administrator
  'fe930be7-5e62-47db-91af-98c3a49a38b1', // User Administrator
  '729827e3-9c14-49f7-bb1b-9608f156bbb8', // Helpdesk Administrator
  '966707d0-3269-4727-9be2-8c3a10f19b9d', // Password Administrator
  'c4e39bd9-1100-46d3-8c65-fb160da0071f', // Authentication Administrator
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', // Privileged Authentication Administrator
  'e8611ab8-c189-46e8-94e1-60213ab1f814', // Privileged Role Administrator
  '4a5d8f65-41da-4de4-8968-e035b65339cf', // Reports Reader
  '5d6b6bb7-de71-4623-b4af-96380a352509', // Security Reader
  '194ae4cb-b126-40b2-bd5b-6091b380977d', // Security Administrator
  'fdd7a751-b60b-444a-984c-02652fe8fa1c', // Groups Administrator
  '8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2', // Hybrid Identity Administrator
]);

interface SessionContextValue {
  session: SessionView | null;
  loading: boolean;
  isAdmin: boolean;
  signIn: (userPrincipalName: string, password: string) => Promise<SessionView>;
  /** the change step of a sign-in that answered "change required" */
  changeAtSignIn: (userPrincipalName: string, currentPassword: string, newPassword: string) => Promise<SessionView>;
  signOut: () => Promise<void>;
  refresh: () => Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionView | null>(null);
  const [loading, setLoading] = useState(true);

  const adopt = useCallback((view: SessionView | null) => {
    setCsrfToken(view?.csrfToken ?? null);
    setSession(view);
  }, []);

  const refresh = useCallback(async () => {
    try {
      adopt(await api.get<SessionView>('/api/v1/session'));
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      adopt(null);
    } finally {
      setLoading(false);
    }
  }, [adopt]);

  useEffect(() => {
    void refresh();
    return onSessionLost(() => adopt(null));
  }, [refresh, adopt]);

  const value = useMemo<SessionContextValue>(
    () => ({
      session,
      loading,
      isAdmin: session?.roles.some((r) => ADMIN_ROLE_IDS.has(r.id)) ?? false,
      signIn: async (userPrincipalName, password) => {
        const view = await api.post<SessionView>('/api/v1/session', { userPrincipalName, password });
        adopt(view);
        return view;
      },
      changeAtSignIn: async (userPrincipalName, currentPassword, newPassword) => {
        const view = await api.post<SessionView>('/api/v1/session/password', { userPrincipalName, currentPassword, newPassword });
        adopt(view);
        return view;
      },
      signOut: async () => {
        try {
          await api.del('/api/v1/session');
        } finally {
          adopt(null);
        }
      },
      refresh,
    }),
    [session, loading, adopt, refresh],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}
