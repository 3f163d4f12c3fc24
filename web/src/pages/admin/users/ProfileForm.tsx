import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '../../../components/Alert';
import { Checkbox, Field } from '../../../components/Field';
import { api } from '../../../lib/api';
import { AdminError, NS, type GraphUser } from './common';

interface Form {
  displayName: string;
  givenName: string;
  surname: string;
  jobTitle: string;
  mobilePhone: string;
  businessPhone: string;
  otherMails: string;
  accountEnabled: boolean;
}

const formOf = (u: GraphUser): Form => ({
  displayName: u.displayName,
  givenName: u.givenName ?? '',
  surname: u.surname ?? '',
  jobTitle: u.jobTitle ?? '',
  mobilePhone: u.mobilePhone ?? '',
  businessPhone: u.businessPhones?.[0] ?? '',
  otherMails: (u.otherMails ?? []).join(', '),
  accountEnabled: u.accountEnabled !== false,
});

const orNull = (s: string) => (s.trim() === '' ? null : s.trim());
const mailsOf = (s: string) => s.split(/[,;\s]+/).map((m) => m.trim()).filter(Boolean);

/**
 * The profile. Only changed properties are sent: the contact data self-service reset uses (phones,
 * alternate emails) needs a weaker permission than the rest, so an Authentication Administrator can
 * still fix a phone number.
 */
export function ProfileForm({ user, onSaved }: { user: GraphUser; onSaved: () => void }) {
  const { t } = useTranslation(NS);
  const [form, setForm] = useState<Form>(() => formOf(user));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: v }));
  };

  const patchOf = (): Record<string, unknown> => {
    const before = formOf(user);
    const patch: Record<string, unknown> = {};
    if (form.displayName.trim() !== before.displayName) patch.displayName = form.displayName.trim();
    if (form.givenName !== before.givenName) patch.givenName = orNull(form.givenName);
    if (form.surname !== before.surname) patch.surname = orNull(form.surname);
    if (form.jobTitle !== before.jobTitle) patch.jobTitle = orNull(form.jobTitle);
    if (form.mobilePhone !== before.mobilePhone) patch.mobilePhone = orNull(form.mobilePhone);
    if (form.businessPhone !== before.businessPhone) patch.businessPhones = orNull(form.businessPhone) === null ? [] : [form.businessPhone.trim()];
    if (mailsOf(form.otherMails).join(',') !== mailsOf(before.otherMails).join(',')) patch.otherMails = mailsOf(form.otherMails);
    if (form.accountEnabled !== before.accountEnabled) patch.accountEnabled = form.accountEnabled;
    return patch;
  };

  return (
    <section className="card dir-card" aria-labelledby="profile-title">
      <h2 id="profile-title">{t('profile.title')}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const patch = patchOf();
          if (Object.keys(patch).length === 0) {
            setSaved(true);
            return;
          }
          setBusy(true);
          setError(null);
          api
            .patch(`/v1.0/users/${user.id}`, patch)
            .then(() => {
              setSaved(true);
              onSaved();
            })
            .catch((err: unknown) => setError(err))
            .finally(() => setBusy(false));
        }}
      >
        <AdminError error={error} />
        {saved ? <Alert kind="success">{t('profile.saved')}</Alert> : null}
        <Field label={t('field.displayName')} required value={form.displayName} onChange={(e) => set('displayName', e.target.value)} autoComplete="off" />
        <div className="dir-pair">
          <Field label={t('field.givenName')} value={form.givenName} onChange={(e) => set('givenName', e.target.value)} autoComplete="off" />
          <Field label={t('field.surname')} value={form.surname} onChange={(e) => set('surname', e.target.value)} autoComplete="off" />
        </div>
        <Field label={t('field.jobTitle')} value={form.jobTitle} onChange={(e) => set('jobTitle', e.target.value)} autoComplete="off" />
        <div className="dir-pair">
          <Field label={t('field.mobilePhone')} hint={t('field.phoneHint')} type="tel" value={form.mobilePhone} onChange={(e) => set('mobilePhone', e.target.value)} autoComplete="off" />
          <Field label={t('field.businessPhone')} hint={t('field.phoneHint')} type="tel" value={form.businessPhone} onChange={(e) => set('businessPhone', e.target.value)} autoComplete="off" />
        </div>
        <Field label={t('field.otherMails')} hint={t('field.otherMailsHint')} value={form.otherMails} onChange={(e) => set('otherMails', e.target.value)} autoComplete="off" />
        <Checkbox label={t('field.accountEnabled')} hint={t('field.accountEnabledHint')} checked={form.accountEnabled} onChange={(e) => set('accountEnabled', e.target.checked)} />
        <div className="actions">
          <button type="submit" disabled={busy}>
            {t('common:save')}
          </button>
        </div>
      </form>
    </section>
  );
}
