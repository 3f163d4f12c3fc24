import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Field, SelectField } from '../../components/Field';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/i18n';
import type { CatalogQuestion, SsprMethod, Verification } from './securityInfoTypes';

const BASE = '/api/v1/me/security-info';

/** A panel for one method: its heading takes focus when it opens, so keyboard users land in it. */
function Panel({ title, children, onCancel }: { title: string; children: ReactNode; onCancel: () => void }) {
  const { t } = useTranslation('account');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="card account-card method-panel" aria-labelledby="method-panel-title">
      <h2 id="method-panel-title" ref={heading} tabIndex={-1}>
        {title}
      </h2>
      {children}
      <div className="actions">
        <button type="button" className="secondary" onClick={onCancel}>
          {t('sec.cancel')}
        </button>
      </div>
    </section>
  );
}

/** The second step of email and phone: the code that was sent. */
function CodeStep({ sentTo, expires, verify, resend }: { sentTo: string; expires: string; verify: (code: string) => Promise<void>; resend: () => Promise<void> }) {
  const { t } = useTranslation('account');
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await verify(code.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)}>
      <Alert kind="info">
        <p>{t('sec.codeSent', { to: sentTo, expires: formatDateTime(expires) })}</p>
      </Alert>
      <ErrorAlert error={error} />
      <Field label={t('sec.code')} inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
      <div className="actions">
        <button type="submit" disabled={busy || code.trim() === ''}>
          {t('sec.verify')}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={() => {
            setError(null);
            setCode('');
            resend().catch((err: unknown) => setError(err));
          }}
        >
          {t('sec.resend')}
        </button>
      </div>
    </form>
  );
}

/**
 * Add an email address or a phone: the form (`fields`), then "send code", then the code step; the
 * server's body is `body()` at the time of sending, so "resend" sends what the form holds.
 */
function CodeConfirmPanel({ kind, body, sentTo, fields, onDone, onCancel }: { kind: 'email' | 'phone'; body: () => object; sentTo: string; fields: ReactNode; onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('account');
  const [sent, setSent] = useState<Verification | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const start = async () => {
    setError(null);
    setSent(await api.post<Verification>(`${BASE}/${kind}`, body()));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await start();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel title={t(`sec.${kind}.title`)} onCancel={onCancel}>
      {sent ? (
        <CodeStep
          sentTo={sentTo}
          expires={sent.expiresDateTime}
          resend={start}
          verify={async (code) => {
            await api.post(`${BASE}/${kind}/verify`, { verificationId: sent.verificationId, code });
            onDone(t(`sec.${kind}.done`));
          }}
        />
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <p>{t(`sec.${kind}.intro`)}</p>
          <ErrorAlert error={error} />
          {fields}
          <div className="actions">
            <button type="submit" disabled={busy || sentTo === ''}>
              {t('sec.sendCode')}
            </button>
          </div>
        </form>
      )}
    </Panel>
  );
}

export function EmailForm({ onDone, onCancel }: { onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('account');
  const [address, setAddress] = useState('');
  return (
    <CodeConfirmPanel
      kind="email"
      body={() => ({ address: address.trim() })}
      sentTo={address.trim()}
      onDone={onDone}
      onCancel={onCancel}
      fields={<Field label={t('sec.email.address')} type="email" autoComplete="email" required value={address} onChange={(e) => setAddress(e.target.value)} />}
    />
  );
}

export function PhoneForm({ fixedType, policyMethods, onDone, onCancel }: { fixedType?: 'mobile' | 'alternateMobile'; policyMethods: SsprMethod[]; onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('account');
  const [type, setType] = useState<'mobile' | 'alternateMobile'>(fixedType ?? 'mobile');
  const [number, setNumber] = useState('');
  const sms = policyMethods.includes('mobileSms') || !policyMethods.includes('mobileCall');
  const call = policyMethods.includes('mobileCall') || !policyMethods.includes('mobileSms');
  const [method, setMethod] = useState<'sms' | 'voice'>(sms ? 'sms' : 'voice');
  return (
    <CodeConfirmPanel
      kind="phone"
      body={() => ({ type, number: number.trim(), method })}
      sentTo={number.trim()}
      onDone={onDone}
      onCancel={onCancel}
      fields={
        <>
          {fixedType ? null : (
            <SelectField
              label={t('sec.phone.type')}
              value={type}
              onChange={(e) => setType(e.target.value as 'mobile' | 'alternateMobile')}
              options={[
                { value: 'mobile', label: t('sec.phoneType.mobile') },
                { value: 'alternateMobile', label: t('sec.phoneType.alternateMobile') },
              ]}
            />
          )}
          <Field label={t('sec.phone.number')} hint={t('sec.phone.numberHint')} type="tel" autoComplete="tel" required value={number} onChange={(e) => setNumber(e.target.value)} />
          <fieldset className="choice">
            <legend>{t('sec.phone.how')}</legend>
            {sms ? (
              <label>
                <input type="radio" name="phone-method" value="sms" checked={method === 'sms'} onChange={() => setMethod('sms')} /> {t('sec.phone.sms')}
              </label>
            ) : null}
            {call ? (
              <label>
                <input type="radio" name="phone-method" value="voice" checked={method === 'voice'} onChange={() => setMethod('voice')} /> {t('sec.phone.voice')}
              </label>
            ) : null}
          </fieldset>
        </>
      }
    />
  );
}

interface Enrolment {
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
}

/** Authenticator app: the QR code (an image from the server's SVG) and the secret as text, then a code. */
export function AuthenticatorForm({ onDone, onCancel }: { onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('account');
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    api
      .post<Enrolment>(`${BASE}/authenticator`)
      .then(setEnrolment)
      .catch((err: unknown) => setError(err));
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post(`${BASE}/authenticator/verify`, { code: code.replace(/\s/g, '') });
      onDone(t('sec.app.done'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const grouped = enrolment?.secret.replace(/(.{4})/g, '$1 ').trim();
  return (
    <Panel title={t('sec.app.title')} onCancel={onCancel}>
      <ErrorAlert error={error} />
      {enrolment ? (
        <form onSubmit={(e) => void submit(e)}>
          <ol className="steps">
            <li>{t('sec.app.step1')}</li>
            <li>
              <p>{t('sec.app.step2')}</p>
              <img className="qr-code" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrCodeSvg)}`} alt={t('sec.app.qrAlt')} width={200} height={200} />
              <p>{t('sec.app.manual')}</p>
              <p>
                <code className="totp-secret" data-secret={enrolment.secret} aria-label={t('sec.app.secretLabel')}>
                  {grouped}
                </code>
              </p>
            </li>
            <li>{t('sec.app.step3')}</li>
          </ol>
          <Field label={t('sec.app.code')} inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          <div className="actions">
            <button type="submit" disabled={busy || code.trim() === ''}>
              {t('sec.verify')}
            </button>
          </div>
        </form>
      ) : error ? null : (
        <p role="status">{t('sec.app.starting')}</p>
      )}
    </Panel>
  );
}

interface Choice {
  key: string;
  answer: string;
  custom: string;
}

const OWN = '__own__';

/** Security questions: choose N from the catalogue (or write your own where the list offers it) and answer them. */
export function QuestionsForm({ onDone, onCancel }: { onDone: (message: string) => void; onCancel: () => void }) {
  const { t, i18n } = useTranslation('account');
  const [catalog, setCatalog] = useState<{ toRegister: number; questions: CatalogQuestion[] } | null>(null);
  const [choices, setChoices] = useState<Choice[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const c = new AbortController();
    api
      .get<{ toRegister: number; questions: CatalogQuestion[] }>(`${BASE}/security-questions/catalog?locale=${encodeURIComponent(i18n.language)}`, { signal: c.signal })
      .then((cat) => {
        setCatalog(cat);
        setChoices(Array.from({ length: cat.toRegister }, () => ({ key: '', answer: '', custom: '' })));
      })
      .catch((err: unknown) => {
        if (!c.signal.aborted) setError(err);
      });
    return () => c.abort();
  }, [i18n.language]);

  const keyOf = (q: CatalogQuestion) => (q.questionId ? `id:${q.questionId}` : `custom:${q.customQuestion ?? ''}`);
  const set = (i: number, patch: Partial<Choice>) => setChoices((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answers = choices.map((c) => {
        if (c.key === OWN) return { customQuestion: c.custom.trim(), answer: c.answer };
        if (c.key.startsWith('id:')) return { questionId: c.key.slice(3), answer: c.answer };
        return { customQuestion: c.key.slice(7), answer: c.answer };
      });
      await api.put(`${BASE}/security-questions`, { answers });
      onDone(t('sec.questions.done'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const complete = choices.every((c) => c.key !== '' && c.answer.trim() !== '' && (c.key !== OWN || c.custom.trim() !== ''));
  return (
    <Panel title={t('sec.questions.title')} onCancel={onCancel}>
      <ErrorAlert error={error} />
      {catalog ? (
        <form onSubmit={(e) => void submit(e)}>
          <p>{t('sec.questions.intro', { count: catalog.toRegister })}</p>
          {choices.map((c, i) => {
            const taken = new Set(choices.filter((_, j) => j !== i).map((o) => o.key));
            return (
              <fieldset key={i} className="question">
                <legend>{t('sec.questions.number', { n: i + 1 })}</legend>
                <SelectField
                  label={t('sec.questions.question')}
                  value={c.key}
                  onChange={(e) => set(i, { key: e.target.value })}
                  options={[
                    { value: '', label: t('sec.questions.choose') },
                    ...catalog.questions.filter((q) => !taken.has(keyOf(q))).map((q) => ({ value: keyOf(q), label: q.text })),
                    { value: OWN, label: t('sec.questions.own') },
                  ]}
                />
                {c.key === OWN ? <Field label={t('sec.questions.ownText')} required maxLength={200} value={c.custom} onChange={(e) => set(i, { custom: e.target.value })} /> : null}
                <Field label={t('sec.questions.answer')} hint={t('sec.questions.answerHint')} required autoComplete="off" maxLength={40} value={c.answer} onChange={(e) => set(i, { answer: e.target.value })} />
              </fieldset>
            );
          })}
          <div className="actions">
            <button type="submit" disabled={busy || !complete}>
              {t('sec.questions.save')}
            </button>
          </div>
        </form>
      ) : error ? null : (
        <p role="status">{t('sec.loading')}</p>
      )}
    </Panel>
  );
}

/** Recovery codes: generated on request, shown once, downloadable as a text file (Blob URL, never a data: navigation). */
export function RecoveryCodesForm({ hadCodes, onDone, onCancel }: { hadCodes: boolean; onDone: (message: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('account');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const generate = async () => {
    setBusy(true);
    setError(null);
    try {
      setCodes((await api.post<{ codes: string[] }>(`${BASE}/recovery-codes`)).codes);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const download = () => {
    if (!codes) return;
    const text = `${t('sec.recovery.fileHeader')}\r\n\r\n${codes.join('\r\n')}\r\n`;
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'recovery-codes.txt';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };
  return (
    <Panel title={t('sec.recovery.title')} onCancel={codes ? () => onDone(t('sec.recovery.done')) : onCancel}>
      <ErrorAlert error={error} />
      {codes ? (
        <>
          <Alert kind="warning">
            <p>{t('sec.recovery.showOnce')}</p>
          </Alert>
          <ul className="recovery-codes" aria-label={t('sec.recovery.listLabel')}>
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <div className="actions">
            <button type="button" onClick={download}>
              {t('sec.recovery.download')}
            </button>
            <button type="button" className="secondary" onClick={() => onDone(t('sec.recovery.done'))}>
              {t('sec.recovery.saved')}
            </button>
          </div>
        </>
      ) : (
        <>
          <p>{t('sec.recovery.intro')}</p>
          {hadCodes ? (
            <Alert kind="warning">
              <p>{t('sec.recovery.replaces')}</p>
            </Alert>
          ) : null}
          <div className="actions">
            <button type="button" disabled={busy} onClick={() => void generate()}>
              {t('sec.recovery.generate')}
            </button>
          </div>
        </>
      )}
    </Panel>
  );
}
