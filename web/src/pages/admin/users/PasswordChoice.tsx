import { useTranslation } from 'react-i18next';
import { Checkbox } from '../../../components/Field';
import { NewPasswordFields } from '../../../components/NewPassword';
import { useSession } from '../../../lib/session';
import { NS } from './common';

export type PasswordMode = 'generate' | 'choose';

/**
 * The password block of "new user" and "reset password": generated or chosen (then the new-password
 * fields, checked against the tenant's policy and the user's own names), and "must change at next
 * sign-in". `name` keeps the radio ids apart (`<name>-generate`, `<name>-choose`).
 */
export function PasswordChoice({
  name,
  mode,
  onModeChange,
  generateDisabled = false,
  password,
  onPasswordChange,
  confirm,
  onConfirmChange,
  userInputs,
  mustChange,
  onMustChangeChange,
}: {
  name: string;
  mode: PasswordMode;
  onModeChange: (mode: PasswordMode) => void;
  generateDisabled?: boolean;
  password: string;
  onPasswordChange: (value: string) => void;
  confirm: string;
  onConfirmChange: (value: string) => void;
  userInputs: string[];
  mustChange: boolean;
  onMustChangeChange: (value: boolean) => void;
}) {
  const { t } = useTranslation(NS);
  const { session } = useSession();
  return (
    <>
      <fieldset className="dir-choice">
        <legend>{t('field.password')}</legend>
        <div className="field-check">
          <input type="radio" id={`${name}-generate`} name={name} disabled={generateDisabled} checked={mode === 'generate'} onChange={() => onModeChange('generate')} />
          <label htmlFor={`${name}-generate`}>{t('password.generate')}</label>
        </div>
        <div className="field-check">
          <input type="radio" id={`${name}-choose`} name={name} checked={mode === 'choose'} onChange={() => onModeChange('choose')} />
          <label htmlFor={`${name}-choose`}>{t('password.choose')}</label>
        </div>
      </fieldset>
      {mode === 'choose' ? (
        <NewPasswordFields
          value={password}
          onChange={onPasswordChange}
          confirm={confirm}
          onConfirmChange={onConfirmChange}
          tenant={session?.user.tenantId ?? null}
          userInputs={userInputs.filter(Boolean)}
          labels={{ password: t('password.new'), confirm: t('password.confirm') }}
        />
      ) : null}
      <Checkbox label={t('password.mustChange')} checked={mustChange} onChange={(e) => onMustChangeChange(e.target.checked)} />
    </>
  );
}
