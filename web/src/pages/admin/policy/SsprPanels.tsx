import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Field } from '../../../components/Field';
import { ErrorAlert } from '../../../components/Alert';
import { Loading } from '../../../components/Page';
import { api } from '../../../lib/api';
import { formatNumber } from '../../../lib/i18n';
import { CheckField, fieldDomId, FieldGroup, numberValue, Radio, readNumber, type Errors } from './form';
import { GroupPicker } from './GroupPicker';
import { SSPR_METHODS, type PredefinedQuestionsView, type SsprMethod, type SsprPolicyView } from './ssprTypes';
import { TermList } from './TermList';

/** One tab of the Password reset blade: the draft, how to change it, and the refused fields. */
export interface PanelProps {
  draft: SsprPolicyView;
  update: (change: (d: SsprPolicyView) => SsprPolicyView) => void;
  errors: Errors;
}

const id = fieldDomId;

export function PropertiesPanel({ draft, update, errors }: PanelProps) {
  const { t } = useTranslation('admin-policy');
  const set = (enabledFor: string) => update((d) => ({ ...d, enabledFor: enabledFor as SsprPolicyView['enabledFor'] }));
  return (
    <>
      <FieldGroup id={id('enabledFor')} legend={t('field.enabledFor')} hint={t('properties.hint')} error={errors.enabledFor}>
        {(['none', 'selected', 'all'] as const).map((v) => (
          <Radio key={v} name="enabledFor" value={v} checked={draft.enabledFor === v} onChange={set} label={t(`properties.${v}`)} />
        ))}
      </FieldGroup>
      {draft.enabledFor === 'selected' ? (
        <section aria-labelledby="sspr-group-heading" className="subsection">
          <h3 id="sspr-group-heading">{t('field.groupId')}</h3>
          <p className="hint">{t('properties.groupHint')}</p>
          <GroupPicker inputId={id('groupId')} groupId={draft.groupId} error={errors.groupId} onChange={(groupId) => update((d) => ({ ...d, groupId }))} />
        </section>
      ) : null}
    </>
  );
}

export function AuthenticationMethodsPanel({ draft, update, errors }: PanelProps) {
  const { t } = useTranslation('admin-policy');
  const toggle = (m: SsprMethod, on: boolean) =>
    update((d) => ({ ...d, methods: on ? SSPR_METHODS.filter((x) => x === m || d.methods.includes(x)) : d.methods.filter((x) => x !== m) }));
  const q = draft.securityQuestions;
  const setQ = (change: Partial<SsprPolicyView['securityQuestions']>) => update((d) => ({ ...d, securityQuestions: { ...d.securityQuestions, ...change } }));
  return (
    <>
      <FieldGroup id={id('methodsRequired')} legend={t('field.methodsRequired')} error={errors.methodsRequired}>
        {([1, 2] as const).map((n) => (
          <Radio key={n} name="methodsRequired" value={String(n)} checked={draft.methodsRequired === n} onChange={(v) => update((d) => ({ ...d, methodsRequired: v === '2' ? 2 : 1 }))} label={t(`methods.required${n}`)} />
        ))}
      </FieldGroup>
      <FieldGroup id={id('methods')} legend={t('field.methods')} hint={t('methods.hint')} error={errors.methods}>
        {SSPR_METHODS.map((m) => (
          <CheckField key={m} id={`sspr-method-${m}`} label={t(`method.${m}`)} checked={draft.methods.includes(m)} onChange={(on) => toggle(m, on)} />
        ))}
      </FieldGroup>
      {draft.methods.includes('securityQuestions') ? (
        <section aria-labelledby="sspr-questions-heading" className="subsection">
          <h3 id="sspr-questions-heading">{t('methods.questionsHeading')}</h3>
          <Field
            id={id('securityQuestions.toRegister')}
            type="number"
            inputMode="numeric"
            min={3}
            max={5}
            label={t('field.securityQuestions.toRegister')}
            hint={t('methods.toRegisterHint')}
            value={numberValue(q.toRegister)}
            onChange={(e) => setQ({ toRegister: readNumber(e.target.value) })}
            error={errors['securityQuestions.toRegister']}
          />
          <Field
            id={id('securityQuestions.toReset')}
            type="number"
            inputMode="numeric"
            min={3}
            max={5}
            label={t('field.securityQuestions.toReset')}
            hint={t('methods.toResetHint')}
            value={numberValue(q.toReset)}
            onChange={(e) => setQ({ toReset: readNumber(e.target.value) })}
            error={errors['securityQuestions.toReset']}
          />
          <TermList
            inputId={id('securityQuestions.custom')}
            label={t('field.securityQuestions.custom')}
            hint={t('methods.customHint')}
            addLabel={t('methods.addQuestion')}
            removeLabel={(term) => t('terms.removeNamed', { term })}
            emptyText={t('methods.noCustom')}
            listLabel={t('methods.customList')}
            terms={q.custom}
            maxLength={200}
            onChange={(custom) => setQ({ custom })}
            error={errors['securityQuestions.custom']}
          />
          <PredefinedQuestions
            selected={q.predefined}
            customCount={q.custom.length}
            toRegister={q.toRegister}
            onChange={(predefined) => setQ({ predefined })}
            error={errors['securityQuestions.predefined']}
          />
        </section>
      ) : null}
    </>
  );
}

/**
 * Azure's "Select predefined questions": every predefined question (src/domain/security-questions-catalog.ts)
 * as a checkbox in the page's language, read from GET /api/v1/policies/sspr/predefined-questions (the
 * user's catalogue lists only the selected ones). Ticking adds a question at the end of the
 * selection, unticking removes it; the draft's securityQuestions.predefined is saved with the panel.
 */
function PredefinedQuestions({
  selected,
  customCount,
  toRegister,
  onChange,
  error,
}: {
  selected: readonly string[];
  customCount: number;
  toRegister: number;
  onChange: (predefined: string[]) => void;
  error: string | undefined;
}) {
  const { t, i18n } = useTranslation('admin-policy');
  const [questions, setQuestions] = useState<PredefinedQuestionsView['value'] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const locale = i18n.language;
  useEffect(() => {
    const controller = new AbortController();
    setLoadError(null);
    api
      .get<PredefinedQuestionsView>(`/api/v1/policies/sspr/predefined-questions?locale=${encodeURIComponent(locale)}`, { signal: controller.signal })
      .then((c) => setQuestions(c.value))
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setLoadError(err);
      });
    return () => controller.abort();
  }, [locale]);

  if (loadError) return <ErrorAlert error={loadError} />;
  if (!questions) return <Loading />;
  const chosen = new Set(selected);
  const toggle = (qid: string, on: boolean) => onChange(on ? [...selected.filter((x) => x !== qid), qid] : selected.filter((x) => x !== qid));
  const tooFew = Number.isFinite(toRegister) && selected.length + customCount < toRegister;
  return (
    <FieldGroup id={id('securityQuestions.predefined')} legend={t('field.securityQuestions.predefined')} hint={t('predefinedSelect.hint')} error={error}>
      <div className="predefined-toolbar">
        <p className="predefined-count" aria-live="polite">
          {t('predefinedSelect.count', { n: formatNumber(selected.length), total: formatNumber(questions.length) })}
        </p>
        <button type="button" className="secondary" disabled={questions.every((x) => chosen.has(x.id))} onClick={() => onChange([...selected, ...questions.map((x) => x.id).filter((x) => !chosen.has(x))])}>
          {t('predefinedSelect.selectAll')}
        </button>
        <button type="button" className="secondary" disabled={selected.length === 0} onClick={() => onChange([])}>
          {t('predefinedSelect.clear')}
        </button>
      </div>
      {tooFew ? <p className="hint predefined-too-few">{t('predefinedSelect.tooFew', { n: formatNumber(toRegister) })}</p> : null}
      <div className="predefined-questions" data-testid="predefined-questions">
        {questions.map((x) => (
          <CheckField key={x.id} id={`sspr-predefined-${x.id}`} label={x.text} checked={chosen.has(x.id)} onChange={(on) => toggle(x.id, on)} />
        ))}
      </div>
    </FieldGroup>
  );
}

export function RegistrationPanel({ draft, update, errors }: PanelProps) {
  const { t } = useTranslation('admin-policy');
  return (
    <>
      <CheckField
        id={id('requireRegistrationOnSignIn')}
        label={t('field.requireRegistrationOnSignIn')}
        hint={t('registration.requireHint')}
        checked={draft.requireRegistrationOnSignIn}
        error={errors.requireRegistrationOnSignIn}
        onChange={(v) => update((d) => ({ ...d, requireRegistrationOnSignIn: v }))}
      />
      <Field
        id={id('reconfirmAfterDays')}
        type="number"
        inputMode="numeric"
        min={0}
        max={730}
        label={t('field.reconfirmAfterDays')}
        hint={t('registration.reconfirmHint')}
        value={numberValue(draft.reconfirmAfterDays)}
        onChange={(e) => update((d) => ({ ...d, reconfirmAfterDays: readNumber(e.target.value) }))}
        error={errors.reconfirmAfterDays}
      />
    </>
  );
}

export function NotificationsPanel({ draft, update, errors }: PanelProps) {
  const { t } = useTranslation('admin-policy');
  return (
    <>
      <CheckField
        id={id('notifyUserOnReset')}
        label={t('field.notifyUserOnReset')}
        hint={t('notifications.userHint')}
        checked={draft.notifyUserOnReset}
        error={errors.notifyUserOnReset}
        onChange={(v) => update((d) => ({ ...d, notifyUserOnReset: v }))}
      />
      <CheckField
        id={id('notifyAdminsOnAdminReset')}
        label={t('field.notifyAdminsOnAdminReset')}
        hint={t('notifications.adminsHint')}
        checked={draft.notifyAdminsOnAdminReset}
        error={errors.notifyAdminsOnAdminReset}
        onChange={(v) => update((d) => ({ ...d, notifyAdminsOnAdminReset: v }))}
      />
    </>
  );
}

export function CustomizationPanel({ draft, update, errors }: PanelProps) {
  const { t } = useTranslation('admin-policy');
  const [customize, setCustomize] = useState(draft.helpdeskUrl !== null || draft.helpdeskEmail !== null);
  const shown = customize || draft.helpdeskUrl !== null || draft.helpdeskEmail !== null;
  const orNull = (s: string) => (s.trim() === '' ? null : s);
  return (
    <>
      <CheckField
        id="sspr-customize-helpdesk"
        label={t('customization.customize')}
        hint={t('customization.customizeHint')}
        checked={shown}
        onChange={(on) => {
          setCustomize(on);
          if (!on) update((d) => ({ ...d, helpdeskUrl: null, helpdeskEmail: null }));
        }}
      />
      {shown ? (
        <>
          <Field
            id={id('helpdeskUrl')}
            type="url"
            label={t('field.helpdeskUrl')}
            hint={t('customization.urlHint')}
            value={draft.helpdeskUrl ?? ''}
            onChange={(e) => update((d) => ({ ...d, helpdeskUrl: orNull(e.target.value) }))}
            error={errors.helpdeskUrl}
            autoComplete="url"
          />
          <Field
            id={id('helpdeskEmail')}
            type="email"
            label={t('field.helpdeskEmail')}
            hint={t('customization.emailHint')}
            value={draft.helpdeskEmail ?? ''}
            onChange={(e) => update((d) => ({ ...d, helpdeskEmail: orNull(e.target.value) }))}
            error={errors.helpdeskEmail}
            autoComplete="email"
          />
        </>
      ) : null}
    </>
  );
}

interface AgentSummary {
  healthy: boolean;
}

export function OnPremisesPanel({ draft, update, errors }: PanelProps) {
  const { t } = useTranslation('admin-policy');
  const [agents, setAgents] = useState<AgentSummary[] | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    api
      .get<{ value: AgentSummary[] }>('/api/v1/writeback/agents', { signal: controller.signal })
      .then((r) => setAgents(r.value))
      .catch(() => setAgents(null)); // an admin without writeback.manage sees no status line
    return () => controller.abort();
  }, []);
  const healthy = agents?.filter((a) => a.healthy).length ?? 0;
  return (
    <>
      {agents ? (
        <p className={`status-line ${healthy > 0 ? 'status-ok' : 'status-bad'}`}>
          {agents.length === 0 ? t('onPremises.noAgents') : healthy > 0 ? t('onPremises.healthy', { count: healthy, total: agents.length }) : t('onPremises.unhealthy', { total: agents.length })}{' '}
          <Link to="/admin/writeback">{t('onPremises.agentsLink')}</Link>
        </p>
      ) : null}
      <CheckField
        id={id('writebackEnabled')}
        label={t('field.writebackEnabled')}
        hint={t('onPremises.writebackHint')}
        checked={draft.writebackEnabled}
        error={errors.writebackEnabled}
        onChange={(v) => update((d) => ({ ...d, writebackEnabled: v }))}
      />
      <CheckField
        id={id('allowUnlockWithoutReset')}
        label={t('field.allowUnlockWithoutReset')}
        hint={t('onPremises.unlockHint')}
        checked={draft.allowUnlockWithoutReset}
        error={errors.allowUnlockWithoutReset}
        onChange={(v) => update((d) => ({ ...d, allowUnlockWithoutReset: v }))}
      />
    </>
  );
}
