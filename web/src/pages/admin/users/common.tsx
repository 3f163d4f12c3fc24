import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Alert, errorText } from '../../../components/Alert';
import { Field } from '../../../components/Field';
import { Loading } from '../../../components/Page';
import { api, ApiError } from '../../../lib/api';
import { formatNumber } from '../../../lib/i18n';

/**
 * Shared pieces of the admin directory pages (users, groups, roles): Graph error display, paging over
 * @odata.nextLink, a modal confirmation dialog, a principal search picker and the copy button.
 */

export const NS = 'admin-users';

/** Azure's fixed id of the password method. */
export const PASSWORD_METHOD_ID = '28c10230-6103-485e-b985-444c60001490';

export interface GraphUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  givenName?: string | null;
  surname?: string | null;
  jobTitle?: string | null;
  mail?: string | null;
  mobilePhone?: string | null;
  businessPhones?: string[];
  otherMails?: string[];
  accountEnabled?: boolean;
  onPremisesSyncEnabled?: boolean | null;
  lastPasswordChangeDateTime?: string | null;
  createdDateTime?: string | null;
  passwordProfile?: { forceChangePasswordNextSignIn?: boolean } | null;
}

export interface GraphGroup {
  id: string;
  displayName: string;
  description?: string | null;
  mailNickname?: string;
  securityEnabled?: boolean;
  isAssignableToRole?: boolean | null;
  createdDateTime?: string | null;
}

/** A member of a group or a role: Graph tags each object with its type. */
export interface DirectoryObject {
  '@odata.type': string;
  id: string;
  displayName: string;
  userPrincipalName?: string;
  isAssignableToRole?: boolean | null;
}

export interface Collection<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

/** OData string literal: quotes doubled. */
export const odataString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Graph's nextLink is absolute (PUBLIC_URL); the portal asks its own origin. */
export const relative = (link: string) => {
  try {
    const u = new URL(link);
    return u.pathname + u.search;
  } catch {
    return link;
  }
};

/** The `@odata.id` reference Graph's `$ref` writes take. */
export const directoryObjectRef = (id: string) => ({ '@odata.id': `${window.location.origin}/v1.0/directoryObjects/${id}` });

export const isGroup = (o: DirectoryObject) => o['@odata.type'] === '#microsoft.graph.group';

/**
 * A server refusal or failure in the page's language: a headline by status, then the reason
 * translated by Postern's code (errors:<code>), the password policy's failed rules, and the request
 * id for the help desk. The server's own words are more specific (they name the rule, e.g. "A
 * Helpdesk Administrator cannot reset the password of a Global Administrator", or the directory's
 * reason); they follow in English when they add something, behind a disclosure on other languages.
 */
export function AdminError({ error, id }: { error: unknown; id?: string }) {
  const { t, i18n } = useTranslation(NS);
  if (!error) return null;
  const props = id ? { id } : {};
  if (!(error instanceof ApiError)) {
    return (
      <Alert kind="error" {...props}>
        <p>{t('error.network')}</p>
      </Alert>
    );
  }
  const headline = error.status === 403 ? t('error.refused') : error.status === 404 ? t('error.notFound') : error.status === 401 ? t('error.signedOut') : t('error.failed');
  const { message, supportCode, items } = errorText(t, error);
  const serverAddsSomething = message !== error.message;
  const english = i18n.language.startsWith('en');
  return (
    <Alert kind="error" {...props}>
      <p>
        <strong>{headline}</strong>
      </p>
      <p>{message}</p>
      {serverAddsSomething && english ? <p className="dir-server-message">{error.message}</p> : null}
      {items.length > 0 ? (
        <ul>
          {items.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      ) : null}
      {serverAddsSomething && !english ? (
        <details className="dir-server-message">
          <summary>{t('error.serverDetails')}</summary>
          <p lang="en">{error.message}</p>
        </details>
      ) : null}
      {supportCode ? <p className="support-code">{t('errors:supportCode', { code: supportCode })}</p> : null}
      {error.requestId ? <p className="support-code">{t('error.requestId', { id: error.requestId })}</p> : null}
    </Alert>
  );
}

/**
 * Pages of a Graph collection. `firsts` are the first-page paths (several when a search runs more
 * than one startswith query, Graph having no `or`); each page follows every query's nextLink and
 * merges the answers.
 */
export function usePaged<T extends { id: string }>(firsts: string[] | null, sort?: (a: T, b: T) => number) {
  const [stack, setStack] = useState<string[][]>([]);
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const key = firsts ? JSON.stringify(firsts) : null;

  useEffect(() => {
    setStack(key ? [JSON.parse(key) as string[]] : []);
  }, [key]);

  const currentKey = JSON.stringify(stack.at(-1) ?? null);
  useEffect(() => {
    const current = JSON.parse(currentKey) as string[] | null;
    if (!current) return;
    const ctrl = new AbortController();
    setLoading(true);
    setError(null);
    Promise.all(current.map((p) => api.get<Collection<T>>(p, { signal: ctrl.signal })))
      .then((answers) => {
        const seen = new Set<string>();
        const merged: T[] = [];
        for (const a of answers) for (const v of a.value) {
          if (seen.has(v.id)) continue;
          seen.add(v.id);
          merged.push(v);
        }
        if (sort) merged.sort(sort);
        setItems(merged);
        setNext(answers.map((a) => a['@odata.nextLink']).filter((l): l is string => typeof l === 'string').map(relative));
        setLoading(false);
      })
      .catch((err: unknown) => {
        if (ctrl.signal.aborted) return;
        setError(err);
        setItems([]);
        setNext([]);
        setLoading(false);
      });
    return () => ctrl.abort();
  }, [currentKey, tick, sort]);

  return {
    items,
    loading,
    error,
    page: stack.length,
    hasNext: next.length > 0,
    hasPrevious: stack.length > 1,
    nextPage: () => setStack((s) => [...s, next]),
    previousPage: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reload: () => setTick((n) => n + 1),
  };
}

export function Pager({ pager, label }: { pager: ReturnType<typeof usePaged>; label: string }) {
  const { t } = useTranslation(NS);
  if (!pager.hasNext && !pager.hasPrevious) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" disabled={!pager.hasPrevious} onClick={pager.previousPage}>
        {t('common:previousPage')}
      </button>
      <span>{t('page', { n: formatNumber(pager.page) })}</span>
      <button type="button" className="secondary" disabled={!pager.hasNext} onClick={pager.nextPage}>
        {t('common:nextPage')}
      </button>
    </nav>
  );
}

/**
 * A modal <dialog>: showModal() makes the rest of the page inert (focus stays inside), Escape closes
 * it, and focus returns to the control that opened it.
 */
export function Modal({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
      if (opener.current instanceof HTMLElement) opener.current.focus();
    }
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      className="dir-dialog"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open ? (
        <>
          <h2 id={titleId}>{title}</h2>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

/** "Are you sure?" with a destructive confirm button. */
export function ConfirmDialog(p: { open: boolean; title: string; text: ReactNode; confirmLabel: string; busy?: boolean; error?: unknown; onConfirm: () => void; onClose: () => void }) {
  const { t } = useTranslation(NS);
  return (
    <Modal open={p.open} title={p.title} onClose={p.onClose}>
      <p>{p.text}</p>
      <AdminError error={p.error} />
      <div className="actions">
        <button type="button" className="secondary" onClick={p.onClose} autoFocus>
          {t('common:cancel')}
        </button>
        <button type="button" className="danger" disabled={p.busy} onClick={p.onConfirm}>
          {p.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const { t } = useTranslation(NS);
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <>
      <button
        type="button"
        className="secondary"
        onClick={() => {
          navigator.clipboard.writeText(text).then(
            () => setState('copied'),
            () => setState('failed'),
          );
        }}
      >
        {label}
      </button>
      <span role="status" className="dir-copy-status">
        {state === 'copied' ? t('common:copied') : state === 'failed' ? t('copyFailed') : ''}
      </span>
    </>
  );
}

/** A temporary password shown once, selectable, with a copy button. */
export function OneTimePassword({ password }: { password: string }) {
  const { t } = useTranslation(NS);
  const id = useId();
  return (
    <Alert kind="warning">
      <p id={`${id}-label`}>{t('tempPassword.label')}</p>
      <p>
        <code className="dir-temp-password" aria-labelledby={`${id}-label`} data-testid="temporary-password">
          {password}
        </code>
      </p>
      <p>{t('tempPassword.once')}</p>
      <CopyButton text={password} label={t('tempPassword.copy')} />
    </Alert>
  );
}

/** A random password of 16 characters with every character class, for "auto-generate" on create. */
export function generatePassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#$%&*+-=?@'];
  const all = sets.join('');
  const random = (n: number) => {
    const buf = new Uint32Array(1);
    crypto.getRandomValues(buf);
    return buf[0]! % n;
  };
  const chars = sets.map((s) => s[random(s.length)]!);
  while (chars.length < 16) chars.push(all[random(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

export interface PickerResult {
  id: string;
  displayName: string;
  secondary: string;
  kind: 'user' | 'group';
}

/**
 * Find users (and, when asked, groups) by the start of their name or UPN, and act on one. Its own
 * <form role="search">, so it must not sit inside another form.
 */
export function PrincipalPicker(p: { label: string; actionLabel: (r: PickerResult) => string; groups?: 'none' | 'all' | 'roleAssignable'; users?: boolean; exclude?: Set<string>; onPick: (r: PickerResult) => Promise<void> | void }) {
  const { t } = useTranslation(NS);
  const [text, setText] = useState('');
  const [results, setResults] = useState<PickerResult[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const search = useCallback(async () => {
    setError(null);
    const s = text.trim();
    const top = '$top=15';
    const userSelect = '$select=id,displayName,userPrincipalName';
    const queries: Promise<PickerResult[]>[] = [];
    if (p.users !== false) {
      for (const field of s ? ['displayName', 'userPrincipalName'] : [null]) {
        const filter = field ? `&$filter=${encodeURIComponent(`startswith(${field},${odataString(s)})`)}` : '';
        queries.push(api.get<Collection<GraphUser>>(`/v1.0/users?${userSelect}&${top}${filter}`).then((a) => a.value.map((u) => ({ id: u.id, displayName: u.displayName, secondary: u.userPrincipalName, kind: 'user' as const }))));
      }
    }
    if (p.groups && p.groups !== 'none') {
      const clauses = [s ? `startswith(displayName,${odataString(s)})` : null, p.groups === 'roleAssignable' ? 'isAssignableToRole eq true' : null].filter(Boolean).join(' and ');
      const filter = clauses ? `&$filter=${encodeURIComponent(clauses)}` : '';
      queries.push(api.get<Collection<GraphGroup>>(`/v1.0/groups?$select=id,displayName,description,isAssignableToRole&${top}${filter}`).then((a) => a.value.map((g) => ({ id: g.id, displayName: g.displayName, secondary: g.description ?? '', kind: 'group' as const }))));
    }
    try {
      const seen = new Set<string>();
      const merged = (await Promise.all(queries)).flat().filter((r) => !seen.has(r.id) && (seen.add(r.id), true));
      merged.sort((a, b) => a.displayName.localeCompare(b.displayName));
      setResults(merged);
    } catch (err) {
      setError(err);
      setResults(null);
    }
  }, [text, p.users, p.groups]);

  const shown = results?.filter((r) => !p.exclude?.has(r.id)) ?? null;
  return (
    <div className="dir-picker">
      <form
        role="search"
        className="dir-search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <Field label={p.label} type="search" value={text} onChange={(e) => setText(e.target.value)} hint={t('picker.hint')} />
        <button type="submit">{t('common:search')}</button>
      </form>
      <AdminError error={error} />
      <p role="status" className="dir-count">
        {shown ? t('picker.found', { count: shown.length, n: formatNumber(shown.length) }) : ''}
      </p>
      {shown && shown.length > 0 ? (
        <PrincipalTable
          caption={t('picker.caption')}
          disabled={busy}
          rows={shown.map((r) => ({
            id: r.id,
            name: r.displayName,
            detail: r.secondary,
            group: r.kind === 'group',
            action: p.actionLabel(r),
            onAction: () => {
              setBusy(true);
              Promise.resolve(p.onPick(r))
                .then(() => setResults((rs) => rs?.filter((x) => x.id !== r.id) ?? null))
                .catch((err: unknown) => setError(err))
                .finally(() => setBusy(false));
            },
          }))}
        />
      ) : null}
    </div>
  );
}

/** The members of a group or the holders of a role: name (linked), user name, type, and a remove button. */
export function MembersTable({ members, caption, empty, removeLabel, onRemove }: { members: DirectoryObject[] | null; caption: string; empty: string; removeLabel: (m: DirectoryObject) => string; onRemove: (m: DirectoryObject) => void }) {
  if (members === null) return <Loading />;
  const rows = members.map((m) => ({
    id: m.id,
    name: <Link to={`/admin/${isGroup(m) ? 'groups' : 'users'}/${m.id}`}>{m.displayName}</Link>,
    detail: m.userPrincipalName ?? '',
    group: isGroup(m),
    action: removeLabel(m),
    onAction: () => onRemove(m),
  }));
  return <PrincipalTable caption={caption} rows={rows} empty={empty} />;
}

/** Users and groups with one action each (add, remove); `empty` is the row shown when there are none. */
function PrincipalTable({ caption, rows, empty, disabled = false }: { caption: string; rows: { id: string; name: ReactNode; detail: string; group: boolean; action: string; onAction: () => void }[]; empty?: string; disabled?: boolean }) {
  const { t } = useTranslation(NS);
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t('col.name')}</th>
          <th scope="col">{t('col.detail')}</th>
          <th scope="col">{t('col.type')}</th>
          <th scope="col">
            <span className="visually-hidden">{t('col.actions')}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <th scope="row">{r.name}</th>
            <td>{r.detail}</td>
            <td>{r.group ? t('type.group') : t('type.user')}</td>
            <td>
              <button type="button" className="secondary" disabled={disabled} onClick={r.onAction}>
                {r.action}
              </button>
            </td>
          </tr>
        ))}
        {rows.length === 0 && empty ? (
          <tr>
            <td colSpan={4}>{empty}</td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}
