import { useEffect, useId, useState, type ChangeEvent, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { api, ApiError } from '../../lib/api';
import { applyBranding, DEFAULT_BRANDING, useRefreshBranding, type Branding as PublicBranding } from '../../lib/branding';
import { formatDateTime, formatNumber } from '../../lib/i18n';

/** GET|PATCH /api/v1/tenant/branding, PUT|DELETE /api/v1/tenant/branding/logo (src/http/routes/api/branding.ts). */
interface AdminBranding extends PublicBranding {
  tenantId: string;
  tenantDisplayName: string;
  customDisplayName: string | null;
  customPrimaryColor: string | null;
  logoContentType: 'image/png' | 'image/jpeg' | null;
  logoBytes: number | null;
  updatedAt: string | null;
}

const HEX = /^#[0-9a-fA-F]{6}$/;
const LOGO_MAX_BYTES = 100 * 1024;
const LOGO_TYPES = ['image/png', 'image/jpeg'];
const SIGN_IN_TEXT_MAX = 1000;
const TEXT_MIN = 4.5;
const PAGE_MIN = 3;

/** WCAG 2 contrast, as the server computes it (src/delivery/templates/branding.ts). */
function luminance(hex: string): number {
  const c = (i: number) => {
    const v = parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5);
}
function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}
const onColor = (hex: string) => (contrast(hex, '#ffffff') >= contrast(hex, '#000000') ? '#ffffff' : '#000000');

interface PendingLogo {
  contentType: string;
  dataBase64: string;
  dataUrl: string;
  name: string;
  size: number;
}

/**
 * Company branding (issue 8): the name, primary colour and sign-in text with a live preview, and the
 * logo (PNG or JPEG, at most 100 KB). Saving applies the colours to this page at once; the sign-in
 * and reset pages read the same values from the public GET /api/v1/branding.
 */
export function Branding() {
  const { t } = useTranslation('admin-branding');
  const refreshBranding = useRefreshBranding();
  const [saved, setSaved] = useState<AdminBranding | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [color, setColor] = useState(DEFAULT_BRANDING.primaryColor);
  const [colorText, setColorText] = useState(DEFAULT_BRANDING.primaryColor);
  const [signInText, setSignInText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [logo, setLogo] = useState<PendingLogo | null>(null);
  const [logoError, setLogoError] = useState<string | null>(null);
  const [fileKey, setFileKey] = useState(0);
  const textId = useId();

  const adopt = (b: AdminBranding) => {
    setSaved(b);
    setName(b.customDisplayName ?? '');
    setColor(b.primaryColor);
    setColorText(b.primaryColor);
    setSignInText(b.signInText ?? '');
  };

  useEffect(() => {
    const controller = new AbortController();
    api
      .get<AdminBranding>('/api/v1/tenant/branding', { signal: controller.signal })
      .then(adopt)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setLoadError(e);
      });
    return () => controller.abort();
  }, []);

  const colorValid = HEX.test(colorText);
  const withWhite = contrast(color, '#ffffff');
  const withBlack = contrast(color, '#000000');
  const textContrast = Math.max(withWhite, withBlack);
  const contrastOk = textContrast >= TEXT_MIN && withWhite >= PAGE_MIN;
  const ratio = (n: number) => formatNumber(n, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  const colorError = !colorValid
    ? t('color.invalid')
    : !contrastOk
      ? t('color.tooLight', { page: ratio(withWhite), min: ratio(PAGE_MIN) })
      : error instanceof ApiError && error.code === 'branding.contrast_too_low'
        ? t('color.refused')
        : undefined;
  const textLength = [...signInText].length;
  const textTooLong = textLength > SIGN_IN_TEXT_MAX;

  const onColorPicked = (value: string) => {
    setColor(value.toLowerCase());
    setColorText(value.toLowerCase());
  };
  const onColorTyped = (value: string) => {
    const v = value.trim();
    setColorText(v);
    if (HEX.test(v)) setColor(v.toLowerCase());
  };

  const finished = (b: AdminBranding, message: string) => {
    adopt(b);
    applyBranding(b);
    refreshBranding(); // the banner's name and logo too
    setStatus(message);
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!saved || !colorValid || !contrastOk || textTooLong) return;
    const patch: Record<string, string | null> = {};
    const nameValue = name.trim() === '' ? null : name.trim();
    if (nameValue !== saved.customDisplayName) patch.displayName = nameValue;
    if (color !== saved.primaryColor) patch.primaryColor = color;
    const textValue = signInText.trim() === '' ? null : signInText;
    if (textValue !== saved.signInText) patch.signInText = textValue;
    setError(null);
    setStatus(null);
    if (Object.keys(patch).length === 0) {
      setStatus(t('nothingChanged'));
      return;
    }
    setBusy(true);
    try {
      finished(await api.patch<AdminBranding>('/api/v1/tenant/branding', patch), t('saved'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const resetColor = () => {
    onColorPicked(DEFAULT_BRANDING.primaryColor);
  };

  const pickFile = (e: ChangeEvent<HTMLInputElement>) => {
    setLogoError(null);
    setLogo(null);
    setStatus(null);
    const file = e.target.files?.[0];
    if (!file) return;
    if (!LOGO_TYPES.includes(file.type)) {
      setLogoError(t('logo.wrongType'));
      return;
    }
    if (file.size > LOGO_MAX_BYTES) {
      setLogoError(t('logo.tooLarge', { size: formatNumber(Math.ceil(file.size / 1024)) }));
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      const dataUrl = typeof reader.result === 'string' ? reader.result : '';
      setLogo({ contentType: file.type, dataBase64: dataUrl.slice(dataUrl.indexOf(',') + 1), dataUrl, name: file.name, size: file.size });
    };
    reader.onerror = () => setLogoError(t('logo.unreadable'));
    reader.readAsDataURL(file);
  };

  const uploadLogo = async () => {
    if (!logo) return;
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      finished(await api.put<AdminBranding>('/api/v1/tenant/branding/logo', { contentType: logo.contentType, dataBase64: logo.dataBase64 }), t('logo.uploaded'));
      setLogo(null);
      setFileKey((k) => k + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const removeLogo = async () => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      finished(await api.del<AdminBranding>('/api/v1/tenant/branding/logo'), t('logo.removed'));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (loadError) {
    return (
      <Page title={t('title')}>
        <ErrorAlert error={loadError} />
      </Page>
    );
  }
  if (!saved) {
    return (
      <Page title={t('title')}>
        <Loading />
      </Page>
    );
  }

  const previewName = name.trim() === '' ? saved.tenantDisplayName : name.trim();
  const previewLogo = logo?.dataUrl ?? saved.logoUrl;

  return (
    <Page title={t('title')}>
      <p className="hint">{t('intro')}</p>
      <ErrorAlert error={error} />
      {status ? <Alert kind="success">{status}</Alert> : null}

      <form onSubmit={(e) => void save(e)} noValidate className="branding-form" aria-label={t('formLabel')}>
        <section aria-labelledby="branding-identity">
          <h2 id="branding-identity">{t('identityHeading')}</h2>
          <Field
            label={t('name.label')}
            hint={t('name.hint', { tenant: saved.tenantDisplayName })}
            type="text"
            maxLength={256}
            value={name}
            placeholder={saved.tenantDisplayName}
            onChange={(e) => setName(e.target.value)}
          />
          <div className="branding-color">
            <Field label={t('color.pickerLabel')} type="color" className="branding-color-picker" value={color} onChange={(e) => onColorPicked(e.target.value)} />
            <Field
              label={t('color.hexLabel')}
              hint={t('color.hint', { text: ratio(textContrast), page: ratio(withWhite), textMin: ratio(TEXT_MIN), pageMin: ratio(PAGE_MIN) })}
              type="text"
              spellCheck={false}
              autoCapitalize="none"
              maxLength={7}
              className="branding-color-hex"
              value={colorText}
              error={colorError}
              onChange={(e) => onColorTyped(e.target.value)}
            />
          </div>
          <button type="button" className="secondary" onClick={resetColor} disabled={color === DEFAULT_BRANDING.primaryColor}>
            {t('color.useDefault')}
          </button>
        </section>

        <section aria-labelledby="branding-signin">
          <h2 id="branding-signin">{t('signInHeading')}</h2>
          <div className={`field${textTooLong ? ' field-invalid' : ''}`}>
            <label htmlFor={textId}>{t('signInText.label')}</label>
            <p className="hint" id={`${textId}-hint`}>
              {t('signInText.hint', { max: formatNumber(SIGN_IN_TEXT_MAX) })}
            </p>
            <textarea
              id={textId}
              rows={4}
              value={signInText}
              onChange={(e) => setSignInText(e.target.value)}
              aria-describedby={`${textId}-hint ${textId}-count`}
              aria-invalid={textTooLong ? true : undefined}
            />
            <p className={textTooLong ? 'field-error' : 'hint'} id={`${textId}-count`}>
              {t('signInText.count', { used: formatNumber(textLength), max: formatNumber(SIGN_IN_TEXT_MAX) })}
            </p>
          </div>
        </section>

        <div className="actions">
          <button type="submit" disabled={busy || !colorValid || !contrastOk || textTooLong}>
            {t('save')}
          </button>
        </div>
      </form>

      <section aria-labelledby="branding-logo">
        <h2 id="branding-logo">{t('logo.heading')}</h2>
        {saved.logoUrl ? (
          <div className="branding-logo-current">
            <img src={saved.logoUrl} alt={t('logo.currentAlt')} className="branding-logo-img" />
            <p className="hint">{t('logo.currentInfo', { type: saved.logoContentType === 'image/jpeg' ? 'JPEG' : 'PNG', size: formatNumber(Math.ceil((saved.logoBytes ?? 0) / 1024)) })}</p>
            <button type="button" className="danger" onClick={() => void removeLogo()} disabled={busy}>
              {t('logo.remove')}
            </button>
          </div>
        ) : (
          <p>{t('logo.none')}</p>
        )}
        <Field key={fileKey} label={t('logo.fileLabel')} hint={t('logo.fileHint')} type="file" accept="image/png,image/jpeg" error={logoError ?? undefined} onChange={pickFile} />
        {logo ? (
          <div className="branding-logo-pending">
            <img src={logo.dataUrl} alt={t('logo.pendingAlt', { name: logo.name })} className="branding-logo-img" />
            <button type="button" onClick={() => void uploadLogo()} disabled={busy}>
              {t('logo.upload')}
            </button>
          </div>
        ) : null}
      </section>

      <section aria-labelledby="branding-preview">
        <h2 id="branding-preview">{t('preview.heading')}</h2>
        <p className="hint">{t('preview.hint')}</p>
        <div className="branding-preview" role="group" aria-label={t('preview.label')}>
          <div className="branding-preview-banner" style={{ backgroundColor: color, color: onColor(color) }}>
            {previewLogo ? <img src={previewLogo} alt="" className="branding-preview-logo" /> : null}
            <span className="branding-preview-name">{previewName}</span>
          </div>
          <div className="branding-preview-body">
            <p className="branding-preview-title">{t('preview.signIn')}</p>
            {signInText.trim() !== '' ? <p className="branding-preview-text">{signInText}</p> : null}
            <span className="branding-preview-button" style={{ backgroundColor: color, borderColor: color, color: onColor(color) }}>
              {t('preview.button')}
            </span>
          </div>
        </div>
      </section>

      {saved.updatedAt ? <p className="hint">{t('updatedAt', { when: formatDateTime(saved.updatedAt) })}</p> : null}
    </Page>
  );
}
