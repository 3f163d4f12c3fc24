import { useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useSearchParams } from 'react-router';
import { Alert } from '../../../components/Alert';
import { Field } from '../../../components/Field';
import { Loading, Page } from '../../../components/Page';
import { formatNumber } from '../../../lib/i18n';
import { AdminError, NS, Pager, usePaged } from './common';

/**
 * A directory list page (users, groups): search form kept in ?search=, status line, table, pager and
 * a "New …" panel. `kind` prefixes the page's strings (`users.title`, `groups.found`, …) and its links.
 */
export function DirectoryList<T extends { id: string; displayName: string }>({
  kind,
  createId,
  firsts: firstsOf,
  columns,
  cells,
  create,
}: {
  kind: 'users' | 'groups';
  createId: string;
  /** the first-page paths for a (trimmed) search, '' for all */
  firsts: (search: string) => string[];
  /** column header keys, the name column first */
  columns: string[];
  cells: (item: T) => ReactNode;
  create: (props: { onDone: () => void; onCancel: () => void }) => ReactNode;
}) {
  const { t } = useTranslation(NS);
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const deleted = (location.state as { deleted?: string } | null)?.deleted;
  const search = params.get('search') ?? '';
  const [text, setText] = useState(search);
  const [creating, setCreating] = useState(false);
  const firsts = useMemo(() => firstsOf(search.trim()), [firstsOf, search]);
  const pager = usePaged<T>(firsts, byDisplayName);

  return (
    <Page
      title={t(`${kind}.title`)}
      actions={
        <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating} aria-controls={createId}>
          {t(`${kind}.new`)}
        </button>
      }
    >
      {deleted ? <Alert kind="success">{t(`${kind}.deleted`, { name: deleted })}</Alert> : null}
      <div id={createId}>{creating ? create({ onDone: () => pager.reload(), onCancel: () => setCreating(false) }) : null}</div>
      <form
        role="search"
        className="dir-search"
        onSubmit={(e) => {
          e.preventDefault();
          setParams(text.trim() ? { search: text.trim() } : {});
        }}
      >
        <Field label={t(`${kind}.search`)} hint={t(`${kind}.searchHint`)} type="search" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">{t('common:search')}</button>
      </form>
      <AdminError error={pager.error} />
      <p role="status" className="dir-count">
        {pager.loading ? t('common:loading') : search ? t(`${kind}.found`, { count: pager.items.length, n: formatNumber(pager.items.length), search }) : ''}
      </p>
      {pager.loading && pager.items.length === 0 ? (
        <Loading />
      ) : (
        <table className="dir-table">
          <caption>{search ? t(`${kind}.captionSearch`, { search }) : t(`${kind}.caption`)}</caption>
          <thead>
            <tr>
              {columns.map((c) => (
                <th scope="col" key={c}>
                  {t(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {pager.items.map((item) => (
              <tr key={item.id}>
                <th scope="row">
                  <Link to={`/admin/${kind}/${item.id}`}>{item.displayName}</Link>
                </th>
                {cells(item)}
              </tr>
            ))}
            {pager.items.length === 0 && !pager.loading ? (
              <tr>
                <td colSpan={columns.length}>{t(`${kind}.none`)}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
      <Pager pager={pager} label={t(`${kind}.pages`)} />
    </Page>
  );
}

const byDisplayName = (a: { displayName: string }, b: { displayName: string }) => a.displayName.localeCompare(b.displayName);
