import { useEffect, useId, useState, type JSX } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * A password strength meter (zxcvbn-ts with the common dictionaries and keyboard layouts; the
 * user's own name and ID count against the password). zxcvbn-ts is loaded lazily, on first use, so
 * it is not part of the sign-in bundle. The verdict is shown as a <meter> and as text, the text
 * announced politely once typing pauses. It advises only: the server's policy decides.
 */
type Checker = (password: string, userInputs: string[]) => number;

let loading: Promise<Checker> | null = null;

function loadChecker(): Promise<Checker> {
  loading ??= Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')]).then(([core, common]) => {
    const factory = new core.ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs, useLevenshteinDistance: true });
    return (password, userInputs) => factory.check(password, userInputs).score;
  });
  return loading;
}

export function StrengthMeter({ password, userInputs = [] }: { password: string; userInputs?: string[] }): JSX.Element {
  const { t } = useTranslation('reset');
  const id = useId();
  const [checker, setChecker] = useState<Checker | null>(null);
  const [score, setScore] = useState<number | null>(null);
  const [announced, setAnnounced] = useState('');
  const inputsKey = userInputs.join('\u0000');

  useEffect(() => {
    let live = true;
    loadChecker()
      .then((c) => live && setChecker(() => c))
      .catch(() => undefined); // without the meter the form still works
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (!checker || password === '') {
      setScore(null);
      return;
    }
    setScore(checker(password.slice(0, 100), userInputs.filter((s) => s.length >= 3)));
    // inputsKey stands for userInputs
  }, [checker, password, inputsKey]);

  const label = score === null ? t('pw.strength.empty') : t('pw.strengthText', { label: t(`pw.strength.${score}`) });
  // announce after a pause in typing, not on every key
  useEffect(() => {
    const timer = setTimeout(() => setAnnounced(label), 700);
    return () => clearTimeout(timer);
  }, [label]);

  return (
    <div className={`strength strength-${score ?? 'none'}`}>
      <span id={`${id}-label`} className="strength-label">
        {t('pw.strengthLabel')}
      </span>
      <meter id={id} min={0} max={4} low={2} high={3} optimum={4} value={score ?? 0} aria-labelledby={`${id}-label`} aria-valuetext={label} />
      <p className="strength-text" aria-hidden="true">
        {label}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announced}
      </p>
    </div>
  );
}
