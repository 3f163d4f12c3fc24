import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../../components/Alert';
import { api, query } from '../../../lib/api';

interface GroupRef {
  id: string;
  displayName: string;
}

/**
 * Azure's "Select group" for SSPR scoped to one group: the chosen group by name, a search box
 * (displayName starts with …, through Graph's GET /v1.0/groups) and a list of results to pick from.
 */
export function GroupPicker({ groupId, onChange, error, inputId }: { groupId: string | null; onChange: (id: string | null) => void; error?: string | undefined; inputId: string }) {
  const { t } = useTranslation('admin-policy');
  const [current, setCurrent] = useState<GroupRef | null>(null);
  const [term, setTerm] = useState('');
  const [results, setResults] = useState<GroupRef[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const resultsId = useId();
  const errorId = `${inputId}-error`;

  useEffect(() => {
    if (!groupId) {
      setCurrent(null);
      return;
    }
    if (current?.id === groupId) return;
    const controller = new AbortController();
    api
      .get<GroupRef>(`/v1.0/groups/${encodeURIComponent(groupId)}${query({ $select: 'id,displayName' })}`, { signal: controller.signal })
      .then(setCurrent)
      .catch(() => {
        if (!controller.signal.aborted) setCurrent({ id: groupId, displayName: t('properties.groupUnknown', { id: groupId }) });
      });
    return () => controller.abort();
  }, [groupId, current?.id, t]);

  const search = async () => {
    setLoadError(null);
    const escaped = term.trim().replace(/'/g, "''");
    try {
      const page = await api.get<{ value: GroupRef[] }>(
        `/v1.0/groups${query({ $select: 'id,displayName', $top: 50, $filter: escaped ? `startswith(displayName,'${escaped}')` : undefined })}`,
      );
      setResults(page.value);
    } catch (err) {
      setLoadError(err);
      setResults(null);
    }
  };

  return (
    <div className={`group-picker${error ? ' field-invalid' : ''}`}>
      <p id={`${inputId}-current`}>
        <strong>{t('properties.selectedGroup')}</strong> {current ? current.displayName : t('properties.noGroup')}
      </p>
      <div className="field">
        <label htmlFor={inputId}>{t('properties.searchGroups')}</label>
        <div className="inline-form">
          <input
            id={inputId}
            type="search"
            value={term}
            onChange={(e) => setTerm(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void search();
              }
            }}
            aria-describedby={[`${inputId}-current`, error ? errorId : null].filter(Boolean).join(' ')}
            aria-invalid={error ? true : undefined}
          />
          <button type="button" className="secondary" onClick={() => void search()}>
            {t('properties.search')}
          </button>
        </div>
        {error ? (
          <p className="field-error" id={errorId}>
            {error}
          </p>
        ) : null}
      </div>
      <ErrorAlert error={loadError} />
      {results ? (
        <div id={resultsId} role="region" aria-label={t('properties.results')} aria-live="polite">
          {results.length === 0 ? (
            <p>{t('properties.noResults')}</p>
          ) : (
            <ul className="plain-list">
              {results.map((g) => (
                <li key={g.id}>
                  <span>{g.displayName}</span>{' '}
                  <button
                    type="button"
                    className="secondary small"
                    aria-pressed={g.id === groupId}
                    onClick={() => {
                      setCurrent(g);
                      onChange(g.id);
                    }}
                  >
                    {g.id === groupId ? t('properties.chosen') : t('properties.choose')}
                    <span className="visually-hidden"> {g.displayName}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
    </div>
  );
}
