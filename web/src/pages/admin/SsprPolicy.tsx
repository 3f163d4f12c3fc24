import type { FormEvent, JSX } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useParams } from 'react-router';
import { ErrorAlert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { SaveBar, SaveStatus, usePolicyForm, type Errors } from './policy/form';
import { AuthenticationMethodsPanel, CustomizationPanel, NotificationsPanel, OnPremisesPanel, PropertiesPanel, RegistrationPanel, type PanelProps } from './policy/SsprPanels';
import { SSPR_TABS, ssprPatch, type SsprPolicyView, type SsprTab } from './policy/ssprTypes';

const PANELS: Record<SsprTab, (p: PanelProps) => JSX.Element> = {
  properties: PropertiesPanel,
  'authentication-methods': AuthenticationMethodsPanel,
  registration: RegistrationPanel,
  notifications: NotificationsPanel,
  customization: CustomizationPanel,
  'on-premises': OnPremisesPanel,
};

/** The fields whose number box may be empty while editing; saving stops with a message instead. */
/** Which tab shows a field (a refusal on another tab links there). */
const FIELD_TAB: Record<string, SsprTab> = {
  enabledFor: 'properties',
  groupId: 'properties',
  methodsRequired: 'authentication-methods',
  methods: 'authentication-methods',
  'securityQuestions.toRegister': 'authentication-methods',
  'securityQuestions.toReset': 'authentication-methods',
  'securityQuestions.custom': 'authentication-methods',
  'securityQuestions.predefined': 'authentication-methods',
  requireRegistrationOnSignIn: 'registration',
  reconfirmAfterDays: 'registration',
  notifyUserOnReset: 'notifications',
  notifyAdminsOnAdminReset: 'notifications',
  helpdeskUrl: 'customization',
  helpdeskEmail: 'customization',
  allowUnlockWithoutReset: 'on-premises',
  writebackEnabled: 'on-premises',
};

const NUMBER_FIELDS = ['securityQuestions.toRegister', 'securityQuestions.toReset', 'reconfirmAfterDays'] as const;

const numberAt = (p: SsprPolicyView, key: (typeof NUMBER_FIELDS)[number]): number =>
  key === 'reconfirmAfterDays' ? p.reconfirmAfterDays : key === 'securityQuestions.toRegister' ? p.securityQuestions.toRegister : p.securityQuestions.toReset;

/**
 * Azure's Password reset blade (reference §1.2–1.8): one page per tab under
 * /admin/policies/sspr/:tab, tabs as links (aria-current on the open one). One draft is kept across
 * the tabs; Save sends a PATCH with only the fields that changed, and a refusal is shown on the
 * field the server names (with a summary linking to it).
 */
export function SsprPolicy() {
  const { t } = useTranslation('admin-policy');
  const { tab: tabParam } = useParams();
  const form = usePolicyForm<SsprPolicyView>('/api/v1/policies/sspr', ssprPatch, (d) => {
    const errors: Errors = {};
    for (const key of NUMBER_FIELDS) if (Number.isNaN(numberAt(d, key))) errors[key] = t('form.enterNumber');
    return errors;
  });

  if (tabParam !== undefined && !(SSPR_TABS as readonly string[]).includes(tabParam)) return <Navigate to="/admin/policies/sspr/properties" replace />;
  const tab: SsprTab = (tabParam as SsprTab | undefined) ?? 'properties';
  const Panel = PANELS[tab];

  const labels: Record<string, string> = Object.fromEntries(
    Object.keys(FIELD_TAB).map((k) => [k, t(`field.${k}`)]),
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void form.save();
  };

  return (
    <Page title={t('sspr.title')}>
      <nav aria-label={t('sspr.tabsLabel')}>
        <ul className="tabs">
          {SSPR_TABS.map((name) => (
            <li key={name}>
              <Link to={`/admin/policies/sspr/${name}`} aria-current={name === tab ? 'page' : undefined}>
                {t(`tabs.${name}`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {form.loadError ? (
        <ErrorAlert error={form.loadError} />
      ) : !form.draft ? (
        <Loading />
      ) : (
        <form onSubmit={submit} noValidate aria-labelledby="sspr-tab-heading" className="policy-form">
          <h2 id="sspr-tab-heading">{t(`tabs.${tab}`)}</h2>
          <SaveStatus form={form} labels={labels} tabOf={(key) => (FIELD_TAB[key] && FIELD_TAB[key] !== tab ? { to: `/admin/policies/sspr/${FIELD_TAB[key]}`, label: t(`tabs.${FIELD_TAB[key]}`) } : null)} />
          <Panel draft={form.draft} update={form.setDraft} errors={form.fieldErrors} />
          <SaveBar form={form} />
        </form>
      )}
    </Page>
  );
}
