import { useState } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * A list of strings to add to and remove from (custom banned terms, custom security questions).
 * Adding ignores a duplicate (case-insensitive, as the server does) and says so; each entry has a
 * remove button that names it.
 */
export function TermList({
  inputId,
  label,
  hint,
  addLabel,
  removeLabel,
  emptyText,
  listLabel,
  terms,
  onChange,
  error,
  maxLength,
}: {
  inputId: string;
  label: string;
  hint?: string;
  addLabel: string;
  removeLabel: (term: string) => string;
  emptyText: string;
  listLabel: string;
  terms: string[];
  onChange: (terms: string[]) => void;
  error?: string | undefined;
  maxLength?: number;
}) {
  const { t } = useTranslation('admin-policy');
  const [value, setValue] = useState('');
  const [note, setNote] = useState('');
  const hintId = hint ? `${inputId}-hint` : null;
  const errorId = error ? `${inputId}-error` : null;

  const add = () => {
    const term = value.trim();
    if (term === '') return;
    if (terms.some((x) => x.toLowerCase() === term.toLowerCase())) {
      setNote(t('terms.duplicate', { term }));
      return;
    }
    onChange([...terms, term]);
    setValue('');
    setNote(t('terms.added', { term }));
  };

  return (
    <div className={`term-list${error ? ' field-invalid' : ''}`}>
      <div className="field">
        <label htmlFor={inputId}>{label}</label>
        {hint ? (
          <p className="hint" id={hintId ?? undefined}>
            {hint}
          </p>
        ) : null}
        <div className="inline-form">
          <input
            id={inputId}
            type="text"
            value={value}
            maxLength={maxLength}
            onChange={(e) => setValue(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                add();
              }
            }}
            aria-describedby={[hintId, errorId].filter(Boolean).join(' ') || undefined}
            aria-invalid={error ? true : undefined}
          />
          <button type="button" className="secondary" onClick={add}>
            {addLabel}
          </button>
        </div>
        {error ? (
          <p className="field-error" id={errorId ?? undefined}>
            {error}
          </p>
        ) : null}
      </div>
      <p className="hint term-note" role="status" aria-live="polite">
        {note}
      </p>
      {terms.length === 0 ? (
        <p className="muted">{emptyText}</p>
      ) : (
        <ul className="term-items" aria-label={listLabel}>
          {terms.map((term) => (
            <li key={term}>
              <span className="term">{term}</span>
              <button
                type="button"
                className="link-button"
                aria-label={removeLabel(term)}
                onClick={() => {
                  onChange(terms.filter((x) => x !== term));
                  setNote(t('terms.removed', { term }));
                }}
              >
                {t('terms.remove')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
