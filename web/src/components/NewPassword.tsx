import { useEffect, useId, useState, type JSX } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, query } from '../lib/api';
import { DEFAULT_HINTS, hintChecklist, type PasswordHints } from '../lib/password-hints';
import { Field } from './Field';
import { StrengthMeter } from './StrengthMeter';

/**
 * New password + confirmation, for the reset wizard, change password and the "change at sign-in"
 * interrupt. Both inputs use autocomplete="new-password" so password managers offer to generate one.
 * Under the password: the tenant's rules as a checklist that follows what is typed (the rules from
 * GET /api/v1/password-policy/hints, evaluated as the server does: lib/password-hints.ts), and a
 * strength meter. `tenant` (id or domain) picks the policy; without it the server's defaults apply.
 * `error` (the server's answer to the last try) marks the field and lists the refused rules.
 */
export function NewPasswordFields(p: {
  value: string;
  onChange(v: string): void;
  confirm: string;
  onConfirmChange(v: string): void;
  tenant?: string | null;
  userInputs?: string[];
  error?: unknown;
  labels?: { password?: string; confirm?: string };
}): JSX.Element {
  const { t } = useTranslation('reset');
  const id = useId();
  const hints = usePasswordHints(p.tenant ?? null);
  const checks = hintChecklist(hints, p.value);
  const mismatch = p.confirm !== '' && p.value !== p.confirm;
  const refused = refusedRules(p.error);

  const ruleText = (rule: string): string => {
    if (rule === 'length') return t('pw.rule.length', { min: hints.minLength, max: hints.maxLength });
    if (rule === 'classes') return t('pw.rule.classes', { n: hints.requiredClasses });
    return hints.allowedCharacters === 'azure' ? t('pw.rule.charactersAzure') : t('pw.rule.charactersAny');
  };

  return (
    <div className="new-password">
      <Field
        label={p.labels?.password ?? t('pw.new')}
        type="password"
        autoComplete="new-password"
        required
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        aria-describedby={`${id}-rules`}
        error={refused.length > 0 ? refused.map((code) => t(`errors:rule.${code}`, { defaultValue: t('errors:password.policy_violation') })).join(' ') : undefined}
      />
      <div className="password-rules" id={`${id}-rules`}>
        <p className="password-rules-title">{t('pw.rulesTitle')}</p>
        <ul>
          {checks.map((c) => (
            <li key={c.rule} className={c.met ? 'met' : 'unmet'}>
              <span aria-hidden="true" className="rule-mark">
                {c.met ? '✓' : '•'}
              </span>{' '}
              {ruleText(c.rule)}
              <span className="visually-hidden"> ({c.met ? t('pw.met') : t('pw.notMet')})</span>
            </li>
          ))}
        </ul>
        <p className="hint">{t('pw.serverChecks')}</p>
      </div>
      <StrengthMeter password={p.value} userInputs={p.userInputs ?? []} />
      <Field
        label={p.labels?.confirm ?? t('pw.confirm')}
        type="password"
        autoComplete="new-password"
        required
        value={p.confirm}
        onChange={(e) => p.onConfirmChange(e.target.value)}
        error={mismatch ? t('pw.mismatch') : undefined}
      />
    </div>
  );
}

/** The violation codes of a password.policy_violation answer (Postern's details.violations). */
function refusedRules(error: unknown): string[] {
  if (!(error instanceof ApiError) || error.code !== 'password.policy_violation') return [];
  const v = (error.details as { violations?: { code?: unknown; rule?: unknown }[] } | null)?.violations;
  return Array.isArray(v) ? v.map((x) => (typeof x.code === 'string' ? x.code : typeof x.rule === 'string' ? x.rule : '')).filter((s) => s !== '') : [];
}

const cache = new Map<string, Promise<PasswordHints>>();

function usePasswordHints(tenant: string | null): PasswordHints {
  const [hints, setHints] = useState<PasswordHints>(DEFAULT_HINTS);
  useEffect(() => {
    let live = true;
    const key = tenant ?? '';
    let pending = cache.get(key);
    if (!pending) {
      pending = api.get<PasswordHints>(`/api/v1/password-policy/hints${query({ tenant })}`).catch(() => DEFAULT_HINTS);
      cache.set(key, pending);
    }
    void pending.then((h) => live && setHints({ ...DEFAULT_HINTS, ...h }));
    return () => {
      live = false;
    };
  }, [tenant]);
  return hints;
}
