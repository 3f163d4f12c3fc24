import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/Alert';
import { Field, SelectField } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { formatNumber } from '../../lib/i18n';
import { changedKeys, CheckField, fieldDomId, numberValue, readNumber, SaveBar, SaveStatus, usePolicyForm, type Errors } from './policy/form';
import { parseReminderDays } from './policy/reminders';
import { TermList } from './policy/TermList';

/** GET/PATCH /api/v1/policies/password (SPEC 4.5). */
export interface PasswordPolicyView {
  profile: 'azure' | 'nist';
  minLength: number;
  maxLength: number;
  expiresAfterDays: number | null;
  notificationWindowDays: number;
  historyCount: number;
  customBannedPasswords: string[];
  enforceCustomBannedPasswords: boolean;
  lockoutThreshold: number;
  lockoutDurationSeconds: number;
  expiryReminderDays: number[];
}

const FIELDS = [
  'profile',
  'minLength',
  'maxLength',
  'historyCount',
  'expiresAfterDays',
  'notificationWindowDays',
  'expiryReminderDays',
  'lockoutThreshold',
  'lockoutDurationSeconds',
  'customBannedPasswords',
  'enforceCustomBannedPasswords',
] as const;

const NUMBER_FIELDS = ['minLength', 'maxLength', 'historyCount', 'notificationWindowDays', 'lockoutThreshold', 'lockoutDurationSeconds'] as const;

/**
 * The cloud password policy (reference §7): profile and lengths, expiry and its reminders, history,
 * smart lockout, and the custom banned password list with its enforce switch. One Save for all; a
 * PATCH with only the fields that changed; a refusal is shown on the field the server names.
 */
export function PasswordPolicy() {
  const { t } = useTranslation('admin-policy');
  // the reminder days are typed as text; kept apart from the draft until they parse
  const [reminderText, setReminderText] = useState<string | null>(null);
  const form = usePolicyForm<PasswordPolicyView>('/api/v1/policies/password', changedKeys, (d) => {
    const errors: Errors = {};
    for (const key of NUMBER_FIELDS) if (Number.isNaN(d[key])) errors[key] = t('form.enterNumber');
    if (d.expiresAfterDays !== null && Number.isNaN(d.expiresAfterDays)) errors.expiresAfterDays = t('form.enterNumber');
    if (reminderText !== null && parseReminderDays(reminderText) === null) errors.expiryReminderDays = t('password.reminderInvalid');
    return errors;
  });
  const labels = Object.fromEntries(FIELDS.map((k) => [k, t(`field.${k}`)]));
  const d = form.draft;
  const errors = form.fieldErrors;
  const set = <K extends keyof PasswordPolicyView>(key: K, value: PasswordPolicyView[K]) => form.setDraft((p) => ({ ...p, [key]: value }));
  const num = (key: (typeof NUMBER_FIELDS)[number], min: number, max: number, hint?: string) =>
    d ? (
      <Field
        id={fieldDomId(key)}
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        label={t(`field.${key}`)}
        hint={hint}
        value={numberValue(d[key])}
        onChange={(e) => set(key, readNumber(e.target.value))}
        error={errors[key]}
      />
    ) : null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void form.save().then((ok) => {
      if (ok) setReminderText(null);
    });
  };

  return (
    <Page title={t('password.title')}>
      {form.loadError ? (
        <ErrorAlert error={form.loadError} />
      ) : !d ? (
        <Loading />
      ) : (
        <form onSubmit={submit} noValidate className="policy-form" aria-label={t('password.title')}>
          <SaveStatus form={form} labels={labels} />

          <section aria-labelledby="pw-rules">
            <h2 id="pw-rules">{t('password.rulesHeading')}</h2>
            <SelectField
              id={fieldDomId('profile')}
              label={t('field.profile')}
              hint={t('password.profileHint')}
              value={d.profile}
              onChange={(e) => set('profile', e.target.value === 'nist' ? 'nist' : 'azure')}
              options={[
                { value: 'azure', label: t('password.profileAzure') },
                { value: 'nist', label: t('password.profileNist') },
              ]}
            />
            {errors.profile ? <p className="field-error">{errors.profile}</p> : null}
            {num('minLength', 8, 256, t('password.minLengthHint'))}
            {num('maxLength', 8, 256)}
            {num('historyCount', 0, 24, t('password.historyHint'))}
          </section>

          <section aria-labelledby="pw-expiry">
            <h2 id="pw-expiry">{t('password.expiryHeading')}</h2>
            <CheckField
              id="pw-never-expires"
              label={t('password.neverExpires')}
              checked={d.expiresAfterDays === null}
              onChange={(never) => set('expiresAfterDays', never ? null : (form.saved?.expiresAfterDays ?? 90))}
            />
            {d.expiresAfterDays !== null ? (
              <Field
                id={fieldDomId('expiresAfterDays')}
                type="number"
                inputMode="numeric"
                min={1}
                max={730}
                label={t('field.expiresAfterDays')}
                value={numberValue(d.expiresAfterDays)}
                onChange={(e) => set('expiresAfterDays', readNumber(e.target.value))}
                error={errors.expiresAfterDays}
              />
            ) : errors.expiresAfterDays ? (
              <p className="field-error">{errors.expiresAfterDays}</p>
            ) : null}
            {num('notificationWindowDays', 1, 30, t('password.windowHint'))}
            <Field
              id={fieldDomId('expiryReminderDays')}
              type="text"
              inputMode="numeric"
              label={t('field.expiryReminderDays')}
              hint={t('password.reminderHint')}
              value={reminderText ?? d.expiryReminderDays.join(', ')}
              onChange={(e) => {
                const text = e.target.value;
                setReminderText(text);
                const days = parseReminderDays(text);
                if (days) set('expiryReminderDays', days);
              }}
              error={errors.expiryReminderDays}
            />
          </section>

          <section aria-labelledby="pw-lockout">
            <h2 id="pw-lockout">{t('password.lockoutHeading')}</h2>
            {num('lockoutThreshold', 1, 100, t('password.thresholdHint'))}
            {num('lockoutDurationSeconds', 5, 86_400, t('password.durationHint', { count: Number.isNaN(d.lockoutDurationSeconds) ? 0 : Math.round((d.lockoutDurationSeconds / 60) * 10) / 10, minutes: formatNumber(Number.isNaN(d.lockoutDurationSeconds) ? 0 : d.lockoutDurationSeconds / 60, { maximumFractionDigits: 1 }) }))}
          </section>

          <section aria-labelledby="pw-banned">
            <h2 id="pw-banned">{t('password.bannedHeading')}</h2>
            <p className="hint">{t('password.bannedIntro')}</p>
            <CheckField
              id={fieldDomId('enforceCustomBannedPasswords')}
              label={t('field.enforceCustomBannedPasswords')}
              checked={d.enforceCustomBannedPasswords}
              error={errors.enforceCustomBannedPasswords}
              onChange={(v) => set('enforceCustomBannedPasswords', v)}
            />
            <TermList
              inputId={fieldDomId('customBannedPasswords')}
              label={t('password.addTermLabel')}
              hint={t('password.termHint')}
              addLabel={t('password.addTerm')}
              removeLabel={(term) => t('terms.removeNamed', { term })}
              emptyText={t('password.noTerms')}
              listLabel={t('field.customBannedPasswords')}
              terms={d.customBannedPasswords}
              maxLength={16}
              onChange={(terms) => set('customBannedPasswords', terms)}
              error={errors.customBannedPasswords}
            />
            <p className="muted">{t('password.termCount', { count: d.customBannedPasswords.length, max: formatNumber(1000) })}</p>
          </section>

          <SaveBar
            form={{
              ...form,
              discard: () => {
                form.discard();
                setReminderText(null);
              },
            }}
          />
        </form>
      )}
    </Page>
  );
}
