import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../../lib/api';
import { formatNumber } from '../../../lib/i18n';
import { localPath } from '../audit/common';
import { NS, type Collection, type DirectoryObject } from './common';

/**
 * Members of a group or holders of a role, a page at a time: the first page, then each "Load more"
 * follows the server's @odata.nextLink and appends. After an add or a remove the list is read again
 * from the start, as many rows as were shown (at most Graph's 999 a page), so the admin keeps the
 * place they scrolled to.
 */

export const MEMBERS_PAGE_SIZE = 100;
const MAX_TOP = 999;

interface PagedState {
  members: DirectoryObject[] | null;
  next: string | null;
  loadingMore: boolean;
}

const withTop = (base: string, top: number) => `${base}${base.includes('?') ? '&' : '?'}$top=${top}`;

/** `base` is the members collection's path with any $select, without $top. */
export function usePagedMembers(base: string) {
  const [state, setState] = useState<PagedState>({ members: null, next: null, loadingMore: false });
  const [error, setError] = useState<unknown>(null);
  // a newer read (reload after a change, another group) wins over an older answer still on its way
  const generation = useRef(0);
  const shown = useRef(0);

  const reload = useCallback(() => {
    const gen = ++generation.current;
    const top = Math.min(MAX_TOP, Math.max(MEMBERS_PAGE_SIZE, shown.current));
    api
      .get<Collection<DirectoryObject>>(withTop(base, top))
      .then((a) => {
        if (gen !== generation.current) return;
        shown.current = a.value.length;
        setState({ members: a.value, next: a['@odata.nextLink'] ?? null, loadingMore: false });
      })
      .catch((err: unknown) => {
        if (gen === generation.current) setError(err);
      });
  }, [base]);

  useEffect(() => {
    shown.current = 0;
    setState({ members: null, next: null, loadingMore: false });
    reload();
  }, [reload]);

  /** The next page, appended; resolves to whether still more remain. */
  const loadMore = useCallback(async (): Promise<boolean> => {
    const next = state.next;
    if (!next) return false;
    const gen = generation.current;
    setState((s) => ({ ...s, loadingMore: true }));
    setError(null);
    try {
      const a = await api.get<Collection<DirectoryObject>>(localPath(next));
      if (gen !== generation.current) return false;
      const more = a['@odata.nextLink'] ?? null;
      setState((s) => {
        const members = [...(s.members ?? []), ...a.value];
        shown.current = members.length;
        return { members, next: more, loadingMore: false };
      });
      return more !== null;
    } catch (err: unknown) {
      if (gen === generation.current) {
        setError(err);
        setState((s) => ({ ...s, loadingMore: false }));
      }
      return true;
    }
  }, [state.next]);

  return { members: state.members, hasMore: state.next !== null, loadingMore: state.loadingMore, error, setError, reload, loadMore };
}

/**
 * Under the table: how many are shown (a polite status, so a screen reader hears the count change)
 * and the "Load more" button while the server has more. When the last page arrives the button goes
 * away, so focus moves to the status rather than falling back to the page.
 */
export function MoreMembers({ count, hasMore, loading, onLoadMore, kind }: { count: number; hasMore: boolean; loading: boolean; onLoadMore: () => Promise<boolean>; kind: 'group' | 'role' }) {
  const { t } = useTranslation(NS);
  const status = useRef<HTMLParagraphElement>(null);
  const n = formatNumber(count);
  return (
    <div className="members-more">
      <p role="status" tabIndex={-1} ref={status} data-testid="members-shown">
        {hasMore ? t(`memberPaging.${kind}More`, { count, n }) : t(`memberPaging.${kind}All`, { count, n })}
      </p>
      {hasMore ? (
        <button
          type="button"
          className="secondary"
          // aria-disabled, not disabled: a disabled button drops the keyboard focus while the page loads
          aria-disabled={loading || undefined}
          onClick={() => {
            if (loading) return;
            void onLoadMore().then((more) => {
              if (!more) status.current?.focus();
            });
          }}
        >
          {loading ? t('memberPaging.loading') : t('memberPaging.loadMore')}
        </button>
      ) : null}
    </div>
  );
}
