import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useSearchParams } from 'react-router';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Captcha } from '../../components/Captcha';
import { Field } from '../../components/Field';
import { NewPasswordFields } from '../../components/NewPassword';
import { Page } from '../../components/Page';
import { ApiError, api } from '../../lib/api';
import { useBranding } from '../../lib/branding';

/**
 * The self-service reset and unlock wizard (/reset, /unlock), Azure's flow (reference §2.2): user ID
 * and CAPTCHA → why you can't sign in (only when unlock without reset is allowed; /unlock preselects
 * it) → one or two verification steps with different methods → new password, or unlock → done.
 * The server is the truth for every step (src/http/routes/api/sspr-flow.ts); each error is shown
 * with its meaning and support code. The flow id lives only in this component's memory.
 */

type Intent = 'reset' | 'unlock';
type Method = 'email' | 'mobileSms' | 'mobileCall' | 'officeCall' | 'securityQuestions' | 'appCode' | 'appNotification' | 'recoveryCode';

interface Flow {
  flowId: string;
  expiresAt: string;
  requiredVerifications: number;
  intents: Intent[];
  methods: { method: Method; target: string | null }[];
}

type Step = 'identify' | 'intent' | 'verify' | 'password' | 'unlock' | 'done';

const BASE = '/api/v1/sspr/flows';
const PHONE_METHODS: Method[] = ['mobileSms', 'mobileCall', 'officeCall'];
const SEND_METHODS: Method[] = ['email', ...PHONE_METHODS];

export function ResetWizard() {
  const { t } = useTranslation('reset');
  const location = useLocation();
  const [params] = useSearchParams();
  const wantsUnlock = location.pathname.startsWith('/unlock');

  const [step, setStep] = useState<Step>('identify');
  const [flow, setFlow] = useState<Flow | null>(null);
  const [intent, setIntent] = useState<Intent>(wantsUnlock ? 'unlock' : 'reset');
  const [verified, setVerified] = useState<string[]>([]);
  const [upn, setUpn] = useState(params.get('upn') ?? '');
  const [notice, setNotice] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // each step's heading takes focus, so keyboard and screen-reader users land on the new step
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    heading.current?.focus();
  }, [step, verified.length]);

  function startOver(message: string | null) {
    setFlow(null);
    setVerified([]);
    setNotice(message);
    setStep('identify');
  }

  async function cancel() {
    if (flow) {
      try {
        await api.del(`${BASE}/${encodeURIComponent(flow.flowId)}`);
      } catch {
        // gone already: nothing to cancel
      }
    }
    startOver(t('cancelled'));
  }

  const required = flow?.requiredVerifications ?? 1;
  const stepTitle: Record<Step, string> = {
    identify: t('identify.title'),
    intent: t('intent.title'),
    verify: t('verify.title', { n: Math.min(verified.length + 1, required), of: required }),
    password: t('password.title'),
    unlock: t('unlock.title'),
    done: intent === 'unlock' ? t('done.unlockedTitle') : t('done.resetTitle'),
  };

  return (
    <Page title={t('title')}>
      {step !== 'identify' && step !== 'done' ? <Progress step={step} verified={verified.length} required={required} hasIntent={(flow?.intents.length ?? 0) > 1} /> : null}
      <h2 ref={heading} tabIndex={-1} className="wizard-step-title">
        {stepTitle[step]}
      </h2>
      {notice && step === 'identify' ? <Alert kind="info">{notice}</Alert> : null}
      {step === 'identify' ? (
        <IdentifyStep
          upn={upn}
          onUpn={setUpn}
          onStarted={(f) => {
            setFlow(f);
            setVerified([]);
            setNotice(null);
            const canUnlock = f.intents.includes('unlock');
            setIntent(canUnlock && wantsUnlock ? 'unlock' : 'reset');
            setStep(canUnlock ? 'intent' : 'verify');
          }}
        />
      ) : null}
      {step === 'intent' && flow ? <IntentStep intent={intent} onIntent={setIntent} onNext={() => setStep('verify')} onCancel={() => void cancel()} /> : null}
      {step === 'verify' && flow ? (
        <VerifyStep
          key={verified.length}
          flow={flow}
          verified={verified}
          onVerified={(now, needed) => {
            setVerified(now);
            if (now.length >= needed) setStep(intent === 'unlock' ? 'unlock' : 'password');
          }}
          onExpired={() => startOver(t('expired'))}
          onCancel={() => void cancel()}
        />
      ) : null}
      {step === 'password' && flow ? <PasswordStep flow={flow} upn={upn} onDone={() => setStep('done')} onExpired={() => startOver(t('expired'))} onCancel={() => void cancel()} /> : null}
      {step === 'unlock' && flow ? <UnlockStep flow={flow} onDone={() => setStep('done')} onExpired={() => startOver(t('expired'))} onCancel={() => void cancel()} /> : null}
      {step === 'done' ? <DoneStep intent={intent} upn={upn} /> : null}
    </Page>
  );
}

/** Where the person is: an ordered list, the current step marked with aria-current. */
function Progress({ step, verified, required, hasIntent }: { step: Step; verified: number; required: number; hasIntent: boolean }) {
  const { t } = useTranslation('reset');
  const items: { key: string; label: string; current: boolean; done: boolean }[] = [];
  if (hasIntent) items.push({ key: 'intent', label: t('progress.intent'), current: step === 'intent', done: step !== 'intent' });
  for (let i = 0; i < required; i++) {
    items.push({ key: `v${i}`, label: t('progress.verify', { n: i + 1 }), current: step === 'verify' && verified === i, done: verified > i });
  }
  items.push({ key: 'finish', label: t('progress.finish'), current: step === 'password' || step === 'unlock', done: false });
  return (
    <nav aria-label={t('progress.label')}>
      <ol className="wizard-progress">
        {items.map((s) => (
          <li key={s.key} className={s.current ? 'current' : s.done ? 'done' : undefined} aria-current={s.current ? 'step' : undefined}>
            {s.label}
            {s.done ? <span className="visually-hidden"> {t('progress.completed')}</span> : null}
          </li>
        ))}
      </ol>
    </nav>
  );
}

function IdentifyStep({ upn, onUpn, onStarted }: { upn: string; onUpn: (v: string) => void; onStarted: (f: Flow) => void }) {
  const { t } = useTranslation('reset');
  const [captcha, setCaptcha] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState<{ upn?: string; captcha?: string }>({});
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const m: { upn?: string; captcha?: string } = {};
    if (!upn.trim()) m.upn = t('identify.upnRequired');
    if (!captcha) m.captcha = t('captcha.required');
    setMissing(m);
    if (m.upn || m.captcha) return;
    setBusy(true);
    setError(null);
    try {
      onStarted(await api.post<Flow>(BASE, { userPrincipalName: upn.trim(), captcha }));
    } catch (err) {
      setError(err);
      setRound((r) => r + 1); // the challenge was spent (or refused): the next try needs a new one
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <p>{t('identify.intro')}</p>
      <ErrorAlert error={error} />
      {error instanceof ApiError && error.status === 403 ? <ContactHelpdesk /> : null}
      <Field
        label={t('identify.upn')}
        hint={t('identify.upnHint')}
        type="email"
        name="username"
        autoComplete="username"
        spellCheck={false}
        autoCapitalize="none"
        required
        value={upn}
        onChange={(e) => onUpn(e.target.value)}
        error={missing.upn}
      />
      <fieldset className="captcha-fieldset">
        <legend>{t('captcha.legend')}</legend>
        <Captcha onChange={setCaptcha} resetSignal={round} />
        {missing.captcha && !captcha ? <p className="field-error">{missing.captcha}</p> : null}
      </fieldset>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {t('next')}
        </button>
        <Link to="/signin" className="button secondary">
          {t('cancel')}
        </Link>
      </div>
    </form>
  );
}

/** Without a flow the server cannot be asked to write to an admin: the tenant's help desk, if it has one. */
function ContactHelpdesk() {
  const { t } = useTranslation('reset');
  const branding = useBranding();
  if (!branding.helpdeskUrl && !branding.helpdeskEmail) return <p>{t('contact.askAdmin')}</p>;
  return (
    <p>
      {t('contact.helpdeskIntro')}{' '}
      {branding.helpdeskUrl ? <a href={branding.helpdeskUrl}>{t('contact.helpdeskLink')}</a> : <a href={`mailto:${branding.helpdeskEmail}`}>{branding.helpdeskEmail}</a>}
    </p>
  );
}

function IntentStep({ intent, onIntent, onNext, onCancel }: { intent: Intent; onIntent: (i: Intent) => void; onNext: () => void; onCancel: () => void }) {
  const { t } = useTranslation('reset');
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onNext();
      }}
    >
      <fieldset className="choices">
        <legend>{t('intent.legend')}</legend>
        <Choice name="intent" value="reset" checked={intent === 'reset'} onSelect={() => onIntent('reset')} label={t('intent.reset')} hint={t('intent.resetHint')} />
        <Choice name="intent" value="unlock" checked={intent === 'unlock'} onSelect={() => onIntent('unlock')} label={t('intent.unlock')} hint={t('intent.unlockHint')} />
      </fieldset>
      <div className="actions">
        <button type="submit">{t('next')}</button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

function Choice({ name, value, checked, onSelect, label, hint }: { name: string; value: string; checked: boolean; onSelect: () => void; label: string; hint?: string }) {
  const id = `${name}-${value}`;
  return (
    <div className="choice">
      <input type="radio" id={id} name={name} value={value} checked={checked} onChange={onSelect} aria-describedby={hint ? `${id}-hint` : undefined} />
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

interface Question {
  id: string;
  text: string;
}

function VerifyStep({ flow, verified, onVerified, onExpired, onCancel }: { flow: Flow; verified: string[]; onVerified: (now: string[], required: number) => void; onExpired: () => void; onCancel: () => void }) {
  const { t } = useTranslation('reset');
  const open = flow.methods.filter((m) => !verified.includes(m.method));
  const [method, setMethod] = useState<Method | null>(open[0]?.method ?? null);
  const [phone, setPhone] = useState('');
  const [sent, setSent] = useState<Method | null>(null);
  const [code, setCode] = useState('');
  const [questions, setQuestions] = useState<Question[] | null>(null);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [contacted, setContacted] = useState<ContactResult | null>(null);
  // after a refused code or answers, focus goes back to the first field (the Verify button that had
  // it is disabled while the request runs); the alert above is announced on its own
  const answerForm = useRef<HTMLFormElement>(null);
  const [refocus, setRefocus] = useState(0);
  useEffect(() => {
    if (refocus > 0) answerForm.current?.querySelector('input')?.focus();
  }, [refocus, questions]);

  const url = (path: string) => `${BASE}/${encodeURIComponent(flow.flowId)}${path}`;
  const current = open.find((m) => m.method === method) ?? null;

  function choose(m: Method) {
    setMethod(m);
    setSent(null);
    setCode('');
    setQuestions(null);
    setAnswers({});
    setError(null);
  }

  async function run(fn: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'sspr.flow_not_found') onExpired();
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  const send = () =>
    run(async () => {
      if (!method) return;
      await api.post(url('/verifications'), PHONE_METHODS.includes(method) ? { method, phoneNumber: phone.trim() } : { method });
      setSent(method);
      setCode('');
    });

  const askQuestions = () =>
    run(async () => {
      const r = await api.post<{ questions: Question[] }>(url('/verifications'), { method: 'securityQuestions' });
      setQuestions(r.questions);
      setAnswers({});
    });

  // questions are fetched as soon as the method is chosen (and again after wrong answers)
  useEffect(() => {
    if (method === 'securityQuestions' && questions === null && !busy) void askQuestions();
    // once per choice of the method
  }, [method]);

  const complete = () =>
    run(async () => {
      if (!method) return;
      if ((method === 'appCode' || method === 'recoveryCode') && sent !== method) {
        await api.post(url('/verifications'), { method });
        setSent(method);
      }
      const body = method === 'securityQuestions' ? { answers: (questions ?? []).map((q) => ({ id: q.id, answer: answers[q.id] ?? '' })) } : { code: code.replace(/\s+/g, '') };
      try {
        const r = await api.post<{ verified: string[]; required: number }>(url(`/verifications/${method}/complete`), body);
        onVerified(r.verified, r.required);
      } catch (err) {
        if (method === 'securityQuestions' && err instanceof ApiError && err.code === 'sspr.answers_wrong') {
          // new random questions after a failure, as Azure does
          setQuestions(null);
          setAnswers({});
          try {
            const r = await api.post<{ questions: Question[] }>(url('/verifications'), { method: 'securityQuestions' });
            setQuestions(r.questions);
          } catch {
            // the first error says enough
          }
        }
        setRefocus((n) => n + 1);
        throw err;
      }
    });

  const contact = () =>
    run(async () => {
      setContacted(await api.post<ContactResult>(url('/contact-admin')));
    });

  if (open.length === 0) {
    return (
      <>
        <Alert kind="error">{t('verify.noMethods')}</Alert>
        <ContactAdmin contacted={contacted} onContact={() => void contact()} busy={busy} />
      </>
    );
  }

  const needsCode = method !== null && method !== 'securityQuestions' && (!SEND_METHODS.includes(method) || sent === method);
  return (
    <div className="verify">
      <p>{verified.length === 0 ? t('verify.introFirst') : t('verify.introNext')}</p>
      <fieldset className="choices">
        <legend>{t('verify.legend')}</legend>
        {open.map((m) => (
          <Choice key={m.method} name="method" value={m.method} checked={method === m.method} onSelect={() => choose(m.method)} label={t(`method.${m.method}`)} hint={m.target ? t('verify.target', { target: m.target }) : undefined} />
        ))}
      </fieldset>

      <ErrorAlert error={error} />

      {current && SEND_METHODS.includes(current.method) ? (
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          {PHONE_METHODS.includes(current.method) ? (
            <Field
              label={t('verify.phone')}
              hint={t('verify.phoneHint', { target: current.target ?? '' })}
              type="tel"
              autoComplete="tel"
              required
              value={phone}
              onChange={(e) => setPhone(e.target.value)}
            />
          ) : (
            <p>{t('verify.emailIntro', { target: current.target ?? '' })}</p>
          )}
          <div className="actions">
            <button type="submit" className={sent === current.method ? 'secondary' : undefined} disabled={busy || (PHONE_METHODS.includes(current.method) && phone.trim() === '')}>
              {sent === current.method ? t('verify.resend') : t(`verify.send.${current.method}`)}
            </button>
          </div>
        </form>
      ) : null}

      {sent && sent === method && SEND_METHODS.includes(sent) ? <Alert kind="success">{t(`verify.sent.${sent}`)}</Alert> : null}

      {needsCode && current ? (
        <form
          ref={answerForm}
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void complete();
          }}
        >
          <Field
            label={t(current.method === 'recoveryCode' ? 'verify.recoveryCode' : current.method === 'appCode' ? 'verify.appCode' : 'verify.code')}
            inputMode={current.method === 'recoveryCode' ? 'text' : 'numeric'}
            autoComplete="one-time-code"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <div className="actions">
            <button type="submit" disabled={busy || code.trim() === ''}>
              {t('verify.verify')}
            </button>
          </div>
        </form>
      ) : null}

      {method === 'securityQuestions' && questions ? (
        <form
          ref={answerForm}
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void complete();
          }}
        >
          {questions.map((q) => (
            <Field key={q.id} label={q.text} type="password" autoComplete="off" required value={answers[q.id] ?? ''} onChange={(e) => setAnswers((a) => ({ ...a, [q.id]: e.target.value }))} />
          ))}
          <div className="actions">
            <button type="submit" disabled={busy || questions.some((q) => !(answers[q.id] ?? '').trim())}>
              {t('verify.verify')}
            </button>
          </div>
        </form>
      ) : null}

      <ContactAdmin contacted={contacted} onContact={() => void contact()} busy={busy} />
      <div className="actions">
        <button type="button" className="secondary" onClick={onCancel}>
          {t('cancel')}
        </button>
      </div>
    </div>
  );
}

type ContactResult = { result: 'ContactedHelpdesk'; helpdeskUrl: string | null; helpdeskEmail: string | null } | { result: 'ContactedAdmin' };

function ContactAdmin({ contacted, onContact, busy }: { contacted: ContactResult | null; onContact: () => void; busy: boolean }) {
  const { t } = useTranslation('reset');
  if (contacted?.result === 'ContactedAdmin') return <Alert kind="success">{t('contact.done')}</Alert>;
  if (contacted?.result === 'ContactedHelpdesk') {
    return (
      <Alert kind="info">
        <p>{t('contact.helpdeskIntro')}</p>
        {contacted.helpdeskUrl ? (
          <p>
            <a href={contacted.helpdeskUrl}>{t('contact.helpdeskLink')}</a>
          </p>
        ) : null}
        {contacted.helpdeskEmail ? (
          <p>
            <a href={`mailto:${contacted.helpdeskEmail}`}>{contacted.helpdeskEmail}</a>
          </p>
        ) : null}
      </Alert>
    );
  }
  return (
    <p className="contact-admin">
      {t('contact.question')}{' '}
      <button type="button" className="link-button" onClick={onContact} disabled={busy}>
        {t('contact.button')}
      </button>
    </p>
  );
}

function useFinish(onExpired: () => void) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'sspr.flow_not_found') onExpired();
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function PasswordStep({ flow, upn, onDone, onExpired, onCancel }: { flow: Flow; upn: string; onDone: () => void; onExpired: () => void; onCancel: () => void }) {
  const { t } = useTranslation('reset');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const [submitted, setSubmitted] = useState<string | null>(null);
  const { error, busy, run } = useFinish(onExpired);
  const domain = upn.includes('@') ? upn.slice(upn.lastIndexOf('@') + 1).trim().toLowerCase() : null;
  const local = upn.includes('@') ? upn.slice(0, upn.lastIndexOf('@')) : upn;

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (password !== confirm) {
          setMismatch(true);
          return;
        }
        setMismatch(false);
        setSubmitted(password);
        void run(async () => {
          await api.post(`${BASE}/${encodeURIComponent(flow.flowId)}/password`, { newPassword: password });
          onDone();
        });
      }}
      noValidate
    >
      <p>{t('password.intro')}</p>
      <ErrorAlert error={error} />
      {mismatch ? <Alert kind="error">{t('pw.mismatch')}</Alert> : null}
      <NewPasswordFields value={password} onChange={setPassword} confirm={confirm} onConfirmChange={setConfirm} tenant={domain} userInputs={[upn, local, ...local.split(/[._-]/)]} error={password === submitted ? error : null} />
      <div className="actions">
        <button type="submit" disabled={busy || password === ''}>
          {t('password.submit')}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

function UnlockStep({ flow, onDone, onExpired, onCancel }: { flow: Flow; onDone: () => void; onExpired: () => void; onCancel: () => void }) {
  const { t } = useTranslation('reset');
  const { error, busy, run } = useFinish(onExpired);
  return (
    <div>
      <p>{t('unlock.intro')}</p>
      <ErrorAlert error={error} />
      <div className="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              await api.post(`${BASE}/${encodeURIComponent(flow.flowId)}/unlock`);
              onDone();
            })
          }
        >
          {t('unlock.submit')}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t('cancel')}
        </button>
      </div>
    </div>
  );
}

function DoneStep({ intent, upn }: { intent: Intent; upn: string }): ReactNode {
  const { t } = useTranslation('reset');
  return (
    <>
      <Alert kind="success">{intent === 'unlock' ? t('done.unlocked') : t('done.reset')}</Alert>
      <p>
        <Link to={`/signin${upn ? `?upn=${encodeURIComponent(upn)}` : ''}`}>{t('done.signIn')}</Link>
      </p>
    </>
  );
}
