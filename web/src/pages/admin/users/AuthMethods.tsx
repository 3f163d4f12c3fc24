import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '../../../components/Alert';
import { Field, SelectField } from '../../../components/Field';
import { Loading } from '../../../components/Page';
import { api } from '../../../lib/api';
import { formatDateTime } from '../../../lib/i18n';
import { AdminError, ConfirmDialog, NS, type Collection } from './common';

interface Method {
  '@odata.type': string;
  id: string;
  emailAddress?: string;
  phoneNumber?: string;
  phoneType?: 'mobile' | 'alternateMobile' | 'office';
  createdDateTime?: string;
}

const kindOf = (m: Method) => m['@odata.type'].replace('#microsoft.graph.', '').replace('AuthenticationMethod', '');

/** The user's authentication methods (Graph), with adding and removing phone and email methods. */
export function AuthMethods({ userId, userName }: { userId: string; userName: string }) {
  const { t } = useTranslation(NS);
  const [methods, setMethods] = useState<Method[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [phoneType, setPhoneType] = useState<'mobile' | 'alternateMobile' | 'office'>('mobile');
  const [phone, setPhone] = useState('');
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<Method | null>(null);
  const [removeError, setRemoveError] = useState<unknown>(null);

  const load = useCallback(() => {
    api
      .get<Collection<Method>>(`/v1.0/users/${userId}/authentication/methods`)
      .then((a) => {
        setMethods(a.value);
        setLoadError(null);
      })
      .catch((err: unknown) => setLoadError(err));
  }, [userId]);
  useEffect(load, [load]);

  const act = (p: Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    return p
      .then(() => {
        setMessage(done);
        load();
        return true;
      })
      .catch((err: unknown) => {
        setError(err);
        return false;
      })
      .finally(() => setBusy(false));
  };

  const describe = (m: Method) => {
    const kind = kindOf(m);
    if (kind === 'email') return m.emailAddress ?? '';
    if (kind === 'phone') return `${m.phoneNumber ?? ''} (${t(`phoneType.${m.phoneType ?? 'mobile'}`)})`;
    if (kind === 'password') return m.createdDateTime ? t('methods.passwordSet', { date: formatDateTime(m.createdDateTime) }) : '';
    return '';
  };
  const removable = (m: Method) => ['email', 'phone'].includes(kindOf(m));
  const hasEmail = methods?.some((m) => kindOf(m) === 'email') ?? false;

  return (
    <section className="card dir-card" aria-labelledby="methods-title">
      <h2 id="methods-title">{t('methods.title')}</h2>
      <p>{t('methods.intro')}</p>
      <AdminError error={loadError} />
      {methods === null && !loadError ? <Loading /> : null}
      {methods ? (
        <table>
          <caption>{t('methods.caption', { name: userName })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('col.method')}</th>
              <th scope="col">{t('col.detail')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('col.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {methods.map((m) => (
              <tr key={m.id}>
                <th scope="row">{t(`methodKind.${kindOf(m)}`, { defaultValue: kindOf(m) })}</th>
                <td>{describe(m)}</td>
                <td>
                  {removable(m) ? (
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => {
                        setRemoveError(null);
                        setRemoving(m);
                      }}
                    >
                      {t('methods.remove', { method: t(`methodKind.${kindOf(m)}`) })}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {message ? <Alert kind="success">{message}</Alert> : null}
      <AdminError error={error} />
      {methods ? (
        <div className="dir-method-forms">
          <form
            aria-labelledby="add-phone-title"
            onSubmit={(e) => {
              e.preventDefault();
              void act(api.post(`/v1.0/users/${userId}/authentication/phoneMethods`, { phoneNumber: phone.trim(), phoneType }), t('methods.phoneAdded')).then((ok) => ok && setPhone(''));
            }}
          >
            <h3 id="add-phone-title">{t('methods.addPhone')}</h3>
            <SelectField
              label={t('field.phoneType')}
              value={phoneType}
              onChange={(e) => setPhoneType(e.target.value as typeof phoneType)}
              options={(['mobile', 'alternateMobile', 'office'] as const).map((v) => ({ value: v, label: t(`phoneType.${v}`) }))}
            />
            <Field label={t('field.phoneNumber')} hint={t('field.phoneHint')} type="tel" required value={phone} onChange={(e) => setPhone(e.target.value)} autoComplete="off" />
            <button type="submit" disabled={busy}>
              {t('methods.addPhoneSubmit')}
            </button>
          </form>
          {!hasEmail ? (
            <form
              aria-labelledby="add-email-title"
              onSubmit={(e) => {
                e.preventDefault();
                void act(api.post(`/v1.0/users/${userId}/authentication/emailMethods`, { emailAddress: email.trim() }), t('methods.emailAdded')).then((ok) => ok && setEmail(''));
              }}
            >
              <h3 id="add-email-title">{t('methods.addEmail')}</h3>
              <Field label={t('field.emailAddress')} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
              <button type="submit" disabled={busy}>
                {t('methods.addEmailSubmit')}
              </button>
            </form>
          ) : null}
        </div>
      ) : null}
      <ConfirmDialog
        open={removing !== null}
        title={t('methods.removeTitle')}
        text={removing ? t('methods.removeText', { method: `${t(`methodKind.${kindOf(removing)}`)} ${describe(removing)}`, name: userName }) : ''}
        confirmLabel={t('methods.removeConfirm')}
        busy={busy}
        error={removeError}
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          if (!removing) return;
          const path = kindOf(removing) === 'email' ? 'emailMethods' : 'phoneMethods';
          setBusy(true);
          api
            .del(`/v1.0/users/${userId}/authentication/${path}/${removing.id}`)
            .then(() => {
              setMessage(t('methods.removed'));
              setRemoving(null);
              load();
            })
            .catch((err: unknown) => setRemoveError(err))
            .finally(() => setBusy(false));
        }}
      />
    </section>
  );
}
