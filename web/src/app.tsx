import { lazy, Suspense, type ComponentType, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useSearchParams } from 'react-router';
import { Layout } from './components/Layout';
import { Loading } from './components/Page';
import { BrandingProvider } from './lib/branding';
import { SessionProvider, useSession } from './lib/session';

/**
 * The portals' routes. Server side, src/http/routes/web.ts answers index.html for every path under
 * these prefixes (PORTAL_PREFIXES); keep the two lists in step. Pages load lazily, so the reset
 * wizard does not download the admin pages.
 */
const page = (load: () => Promise<Record<string, ComponentType>>, name: string) => lazy(async () => ({ default: (await load())[name]! }));

const SignIn = page(() => import('./pages/user/SignIn'), 'SignIn');
const Overview = page(() => import('./pages/user/Overview'), 'Overview');
const ChangePassword = page(() => import('./pages/user/ChangePassword'), 'ChangePassword');
const SecurityInfo = page(() => import('./pages/user/SecurityInfo'), 'SecurityInfo');
const ResetWizard = page(() => import('./pages/reset/ResetWizard'), 'ResetWizard');
const Users = page(() => import('./pages/admin/Users'), 'Users');
const UserDetail = page(() => import('./pages/admin/UserDetail'), 'UserDetail');
const Groups = page(() => import('./pages/admin/Groups'), 'Groups');
const GroupDetail = page(() => import('./pages/admin/GroupDetail'), 'GroupDetail');
const Roles = page(() => import('./pages/admin/Roles'), 'Roles');
const SsprPolicy = page(() => import('./pages/admin/SsprPolicy'), 'SsprPolicy');
const PasswordPolicy = page(() => import('./pages/admin/PasswordPolicy'), 'PasswordPolicy');
const Writeback = page(() => import('./pages/admin/Writeback'), 'Writeback');
const Branding = page(() => import('./pages/admin/Branding'), 'Branding');
const Audit = page(() => import('./pages/admin/Audit'), 'Audit');
const Reports = page(() => import('./pages/admin/Reports'), 'Reports');
const Insights = page(() => import('./pages/admin/Insights'), 'Insights');

/** Signed-in pages: without a session, go to sign-in and come back after. */
function RequireSession({ admin, children }: { admin?: boolean; children: ReactNode }) {
  const { session, loading, isAdmin } = useSession();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!session) return <Navigate to={`/signin?returnTo=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (admin && !isAdmin) return <Navigate to="/account" replace />;
  return <>{children}</>;
}

function Home() {
  const { session, loading } = useSession();
  if (loading) return <Loading />;
  return <Navigate to={session ? '/account' : '/signin'} replace />;
}

function Branded({ children }: { children: ReactNode }) {
  const { session } = useSession();
  const [params] = useSearchParams();
  return <BrandingProvider tenant={session?.user.tenantId ?? params.get('tenant')}>{children}</BrandingProvider>;
}

const frame = (area: 'public' | 'account' | 'admin', node: ReactNode, admin = false) => {
  const inner = <Layout area={area}>{<Suspense fallback={<Loading />}>{node}</Suspense>}</Layout>;
  return area === 'public' ? inner : <RequireSession admin={admin}>{inner}</RequireSession>;
};

export function App() {
  return (
    <BrowserRouter>
      <SessionProvider>
        <Branded>
          <Routes>
            <Route path="/" element={<Home />} />
            <Route path="/signin" element={frame('public', <SignIn />)} />
            <Route path="/reset" element={frame('public', <ResetWizard />)} />
            <Route path="/unlock" element={frame('public', <ResetWizard />)} />
            <Route path="/account" element={frame('account', <Overview />)} />
            <Route path="/account/password" element={frame('account', <ChangePassword />)} />
            <Route path="/account/security-info" element={frame('account', <SecurityInfo />)} />
            <Route path="/admin" element={<Navigate to="/admin/users" replace />} />
            <Route path="/admin/users" element={frame('admin', <Users />, true)} />
            <Route path="/admin/users/:id" element={frame('admin', <UserDetail />, true)} />
            <Route path="/admin/groups" element={frame('admin', <Groups />, true)} />
            <Route path="/admin/groups/:id" element={frame('admin', <GroupDetail />, true)} />
            <Route path="/admin/roles" element={frame('admin', <Roles />, true)} />
            <Route path="/admin/policies/sspr" element={frame('admin', <SsprPolicy />, true)} />
            <Route path="/admin/policies/sspr/:tab" element={frame('admin', <SsprPolicy />, true)} />
            <Route path="/admin/policies/password" element={frame('admin', <PasswordPolicy />, true)} />
            <Route path="/admin/writeback" element={frame('admin', <Writeback />, true)} />
            <Route path="/admin/branding" element={frame('admin', <Branding />, true)} />
            <Route path="/admin/audit" element={frame('admin', <Audit />, true)} />
            <Route path="/admin/reports" element={frame('admin', <Reports />, true)} />
            <Route path="/admin/insights" element={frame('admin', <Insights />, true)} />
            <Route path="*" element={frame('public', <NotFound />)} />
          </Routes>
        </Branded>
      </SessionProvider>
    </BrowserRouter>
  );
}

function NotFound() {
  return <NotFoundPage />;
}

const NotFoundPage = page(() => import('./pages/NotFound'), 'NotFound');
