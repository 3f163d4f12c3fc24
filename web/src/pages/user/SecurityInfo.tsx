import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router';
import { Alert, ErrorAlert } from '../../components/Alert';
import { SelectField } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { useBranding } from '../../lib/branding';
import { formatDateTime } from '../../lib/i18n';
import type { PhoneType, SecurityInfoView } from './securityInfoTypes';
import { AuthenticatorForm, EmailForm, PhoneForm, QuestionsForm, RecoveryCodesForm } from './SecurityInfoForms';
import { safeReturnTo } from './shared';

type Kind = 'email' | 'phone' | 'authenticator' | 'questions' | 'recovery';
type Editing = { kind: Kind; phoneType?: 'mobile' | 'alternateMobile' } | null;

interface Row {
  id: string;
  method: string;
  detail: string;
  edit?: Editing;
  remove?: { path: string; label: string };
}

const BASE = '/api/v1/me/security-info';

/**
 * /account/security-info: the methods the user has registered (masked), and add / change / delete
 * for each kind the tenant allows: email and phones (a code confirms them), the authenticator app
 * (QR code + secret, confirmed with a code), security questions and recovery codes.
 */
export function SecurityInfo() {
  const { t } = useTranslation('account');
  const branding = useBranding();
  const [info, setInfo] = useState<SecurityInfoView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [adding, setAdding] = useState<Kind | ''>('');
  const [confirmDelete, setConfirmDelete] = useState<Row | null>(null);
  const addHeading = useRef<HTMLHeadingElement>(null);
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const interrupt = params.get('interrupt');
  const returnTo = safeReturnTo(params.get('returnTo'));
  const leave = () => void navigate(returnTo ?? '/account', { replace: true });
  const dismiss = () => {
    setParams({}, { replace: true });
    setTimeout(() => addHeading.current?.focus(), 0);
  };

  const load = useCallback(async (signal?: AbortSignal) => {
    try {
      setInfo(await api.get<SecurityInfoView>(BASE, signal ? { signal } : {}));
    } catch (err) {
      if (!signal?.aborted) setError(err);
    }
  }, []);

  useEffect(() => {
    const c = new AbortController();
    void load(c.signal);
    return () => c.abort();
  }, [load]);

  const finish = (msg: string | null) => {
    setEditing(null);
    setAdding('');
    setMessage(msg);
    void load();
    setTimeout(() => addHeading.current?.focus(), 0);
  };

  const remove = async (row: Row) => {
    if (!row.remove) return;
    setError(null);
    setMessage(null);
    try {
      await api.del(row.remove.path);
      setConfirmDelete(null);
      finish(t('sec.deleted', { method: row.method }));
    } catch (err) {
      setError(err);
    }
  };

  if (!info) {
    return (
      <Page title={t('sec.title')}>
        <ErrorAlert error={error} />
        {error ? null : <Loading />}
      </Page>
    );
  }

  const questionsAllowed = info.policy.methods.includes('securityQuestions') && !info.policy.isAdmin;
  const phoneLabel = (type: PhoneType) => t(`sec.phoneType.${type}`);
  const rows: Row[] = [];
  if (info.email) rows.push({ id: 'email', method: t('sec.kind.email'), detail: info.email.address, edit: { kind: 'email' }, remove: { path: `${BASE}/email`, label: t('sec.kind.email') } });
  for (const p of info.phones) {
    rows.push({
      id: `phone-${p.type}`,
      method: phoneLabel(p.type),
      detail: p.number,
      ...(p.type === 'office' ? {} : { edit: { kind: 'phone' as const, phoneType: p.type }, remove: { path: `${BASE}/phone/${p.type}`, label: phoneLabel(p.type) } }),
    });
  }
  if (info.authenticatorApp.registered) {
    rows.push({
      id: 'authenticator',
      method: t('sec.kind.authenticator'),
      detail: info.authenticatorApp.createdDateTime ? t('sec.addedOn', { date: formatDateTime(info.authenticatorApp.createdDateTime) }) : '',
      edit: { kind: 'authenticator' },
      remove: { path: `${BASE}/authenticator`, label: t('sec.kind.authenticator') },
    });
  }
  if (info.securityQuestions.registered > 0) {
    rows.push({ id: 'questions', method: t('sec.kind.questions'), detail: t('sec.questionsRegistered', { count: info.securityQuestions.registered }), ...(questionsAllowed ? { edit: { kind: 'questions' as const } } : {}) });
  }
  if (info.recoveryCodes.total > 0) {
    rows.push({ id: 'recovery', method: t('sec.kind.recovery'), detail: t('sec.codesLeft', { remaining: info.recoveryCodes.remaining, total: info.recoveryCodes.total }), edit: { kind: 'recovery' } });
  }

  const kinds: { value: Kind; label: string }[] = [
    { value: 'email', label: t('sec.kind.email') },
    { value: 'phone', label: t('sec.kind.phone') },
    { value: 'authenticator', label: t('sec.kind.authenticator') },
    ...(questionsAllowed ? [{ value: 'questions' as const, label: t('sec.kind.questions') }] : []),
    { value: 'recovery', label: t('sec.kind.recovery') },
  ];

  const cancel = () => finish(null);
  const panel = editing ? (
    editing.kind === 'email' ? (
      <EmailForm onDone={finish} onCancel={cancel} />
    ) : editing.kind === 'phone' ? (
      <PhoneForm {...(editing.phoneType ? { fixedType: editing.phoneType } : {})} policyMethods={info.policy.methods} onDone={finish} onCancel={cancel} />
    ) : editing.kind === 'authenticator' ? (
      <AuthenticatorForm onDone={finish} onCancel={cancel} />
    ) : editing.kind === 'questions' ? (
      <QuestionsForm onDone={finish} onCancel={cancel} />
    ) : (
      <RecoveryCodesForm hadCodes={info.recoveryCodes.total > 0} onDone={finish} onCancel={cancel} />
    )
  ) : null;

  const confirmInfo = async () => {
    setError(null);
    try {
      await api.post(`${BASE}/confirm`);
      leave();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page title={t('sec.title')}>
      {interrupt === 'register' || interrupt === 'reconfirm' ? (
        <section className="card account-card interrupt" aria-labelledby="interrupt-title">
          <h2 id="interrupt-title">{interrupt === 'register' ? t('signIn.registerTitle') : t('signIn.reconfirmTitle')}</h2>
          <p>{interrupt === 'register' ? t('signIn.registerText', { tenant: branding.displayName }) : t('signIn.reconfirmText')}</p>
          <div className="actions">
            {interrupt === 'register' ? (
              <button type="button" onClick={dismiss}>
                {t('signIn.registerNow')}
              </button>
            ) : (
              <button type="button" onClick={() => void confirmInfo()}>
                {t('overview.looksGood')}
              </button>
            )}
            <button type="button" className="secondary" onClick={leave}>
              {t('signIn.skip')}
            </button>
          </div>
        </section>
      ) : null}
      <p>{t('sec.intro')}</p>
      {info.policy.ssprEnabled ? (
        info.isRegistered ? (
          <p>{t('sec.registered')}</p>
        ) : (
          <Alert kind="warning">
            <p>{t('sec.needMore', { count: info.policy.methodsRequired })}</p>
          </Alert>
        )
      ) : null}
      {message ? (
        <Alert kind="success">
          <p>{message}</p>
        </Alert>
      ) : null}
      <ErrorAlert error={error} />

      <table className="methods">
        <caption>{t('sec.tableCaption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('sec.colMethod')}</th>
            <th scope="col">{t('sec.colDetail')}</th>
            <th scope="col">{t('sec.colActions')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={3}>{t('sec.none')}</td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr key={r.id} data-method={r.id}>
                <th scope="row">{r.method}</th>
                <td>{r.detail}</td>
                <td className="row-actions">
                  {r.edit ? (
                    <button type="button" className="link-button" aria-label={t('sec.changeWhat', { method: r.method })} onClick={() => { setMessage(null); setEditing(r.edit ?? null); }}>
                      {t('sec.change')}
                    </button>
                  ) : r.id === 'phone-office' ? (
                    <span>{t('sec.setByAdmin')}</span>
                  ) : null}
                  {r.remove ? (
                    <button type="button" className="link-button" aria-label={t('sec.deleteWhat', { method: r.method })} onClick={() => { setMessage(null); setConfirmDelete(r); }}>
                      {t('sec.delete')}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>

      {confirmDelete ? (
        <div className="card account-card" role="group" aria-labelledby="confirm-delete-text">
          <p id="confirm-delete-text">{t('sec.confirmDelete', { method: confirmDelete.method })}</p>
          <div className="actions">
            <button type="button" className="danger" onClick={() => void remove(confirmDelete)}>
              {t('sec.delete')}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmDelete(null)}>
              {t('sec.cancel')}
            </button>
          </div>
        </div>
      ) : null}

      {panel ?? (
        <section className="card account-card" aria-labelledby="add-method">
          <h2 id="add-method" ref={addHeading} tabIndex={-1}>{t('sec.addTitle')}</h2>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (adding) {
                setMessage(null);
                setEditing({ kind: adding });
              }
            }}
          >
            <SelectField label={t('sec.chooseMethod')} value={adding} onChange={(e) => setAdding(e.target.value as Kind | '')} options={[{ value: '', label: t('sec.choose') }, ...kinds]} />
            <div className="actions">
              <button type="submit" disabled={adding === ''}>
                {t('sec.add')}
              </button>
            </div>
          </form>
        </section>
      )}
      {info.lastConfirmedDateTime ? <p className="hint">{t('sec.lastReviewed', { date: formatDateTime(info.lastConfirmedDateTime) })}</p> : null}
    </Page>
  );
}
