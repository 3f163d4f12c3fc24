import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, useNavigate } from 'react-router';
import { useBranding } from '../lib/branding';
import { LANGUAGES } from '../lib/i18n';
import { useSession } from '../lib/session';

/** Admin navigation: one entry per admin page (routes in app.tsx). */
export const ADMIN_NAV = [
  { to: '/admin/users', key: 'nav.users' },
  { to: '/admin/groups', key: 'nav.groups' },
  { to: '/admin/roles', key: 'nav.roles' },
  { to: '/admin/policies/sspr', key: 'nav.ssprPolicy' },
  { to: '/admin/policies/password', key: 'nav.passwordPolicy' },
  { to: '/admin/writeback', key: 'nav.writeback' },
  { to: '/admin/audit', key: 'nav.audit' },
  { to: '/admin/reports', key: 'nav.reports' },
  { to: '/admin/insights', key: 'nav.insights' },
  { to: '/admin/branding', key: 'nav.branding' },
] as const;

const ACCOUNT_NAV = [
  { to: '/account', key: 'nav.overview', end: true },
  { to: '/account/password', key: 'nav.changePassword' },
  { to: '/account/security-info', key: 'nav.securityInfo' },
] as const;

/**
 * The frame of every page: a skip link, the tenant's banner, navigation (account pages; admin pages
 * for admins), the language switch, the main landmark and the help-desk footer.
 */
export function Layout({ area, children }: { area: 'public' | 'account' | 'admin'; children: ReactNode }) {
  const { t, i18n } = useTranslation();
  const branding = useBranding();
  const { session, isAdmin, signOut } = useSession();
  const navigate = useNavigate();
  const nav = area === 'admin' ? ADMIN_NAV : area === 'account' ? ACCOUNT_NAV : [];
  return (
    <div className={`layout layout-${area}`}>
      <a className="skip-link" href="#main">
        {t('skipToContent')}
      </a>
      <header className="banner">
        <div className="brand">
          {branding.logoUrl ? <img src={branding.logoUrl} alt="" className="brand-logo" /> : null}
          <span className="brand-name">{branding.displayName}</span>
        </div>
        <div className="banner-tools">
          <label className="language">
            <span className="visually-hidden">{t('language')}</span>
            <select value={i18n.language} onChange={(e) => void i18n.changeLanguage(e.target.value)}>
              {LANGUAGES.map((l) => (
                <option key={l} value={l}>
                  {t(`languageName.${l}`)}
                </option>
              ))}
            </select>
          </label>
          {session ? (
            <>
              <span className="signed-in-as">{session.user.displayName}</span>
              {isAdmin && area !== 'admin' ? <NavLink to="/admin/users">{t('nav.admin')}</NavLink> : null}
              {area === 'admin' ? <NavLink to="/account">{t('nav.myAccount')}</NavLink> : null}
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  void signOut().then(() => navigate('/signin'));
                }}
              >
                {t('signOut')}
              </button>
            </>
          ) : null}
        </div>
      </header>
      {nav.length > 0 ? (
        <nav className="side-nav" aria-label={area === 'admin' ? t('nav.adminLabel') : t('nav.accountLabel')}>
          <ul>
            {nav.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={'end' in n ? n.end : false}>
                  {t(n.key)}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer className="footer">
        {branding.helpdeskUrl ? (
          <a href={branding.helpdeskUrl} rel="noreferrer noopener">
            {t('helpdesk')}
          </a>
        ) : null}
        {branding.helpdeskEmail ? <a href={`mailto:${branding.helpdeskEmail}`}>{branding.helpdeskEmail}</a> : null}
        <span>{t('poweredBy')}</span>
      </footer>
    </div>
  );
}
