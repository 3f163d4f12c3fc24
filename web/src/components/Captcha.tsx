import { useEffect, useId, useRef, useState, type JSX } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../lib/api';
import type { SolveMessage, SolveRequest } from './captcha-worker';

/**
 * The proof-of-work CAPTCHA in front of the reset flow, like ALTCHA's widget: a checkbox the person
 * ticks (keyboard: Space), then the browser fetches GET /api/v1/sspr/captcha and solves it in a Web
 * Worker (captcha-worker.ts, its own /assets file: no inline script, no blob: worker, the CSP stays
 * strict). Progress and the outcome are announced (role=status). `onChange` gets the payload the
 * flow start carries (base64 JSON of {challenge, solution}), or null while there is none. A solved
 * challenge is spent by one flow start: change `resetSignal` to ask for a new one.
 */
type State = 'idle' | 'verifying' | 'verified' | 'failed';

interface Challenge {
  parameters: SolveRequest['parameters'] & Record<string, unknown>;
  signature?: string;
  [k: string]: unknown;
}

function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function Captcha({ onChange, resetSignal = 0 }: { onChange: (payload: string | null) => void; resetSignal?: number }): JSX.Element {
  const { t } = useTranslation('reset');
  const id = useId();
  const [state, setState] = useState<State>('idle');
  const worker = useRef<Worker | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;

  const stop = () => {
    worker.current?.terminate();
    worker.current = null;
  };

  // a new challenge is needed after each attempt to start a flow
  useEffect(() => {
    stop();
    setState('idle');
    onChangeRef.current(null);
  }, [resetSignal]);
  useEffect(() => stop, []);

  async function verify() {
    stop();
    setState('verifying');
    onChangeRef.current(null);
    try {
      const challenge = await api.get<Challenge>('/api/v1/sspr/captcha');
      const w = new Worker(new URL('./captcha-worker.ts', import.meta.url), { type: 'module' });
      worker.current = w;
      w.onmessage = (event: MessageEvent<SolveMessage>) => {
        const m = event.data;
        if (m.kind === 'progress') return;
        stop();
        if (m.kind === 'done') {
          onChangeRef.current(toBase64(JSON.stringify({ challenge, solution: { counter: m.counter, derivedKey: m.derivedKey, time: m.time } })));
          setState('verified');
        } else {
          setState('failed');
        }
      };
      w.onerror = () => {
        stop();
        setState('failed');
      };
      w.postMessage({ parameters: challenge.parameters } satisfies SolveRequest);
    } catch {
      setState('failed');
    }
  }

  const status = state === 'verifying' ? t('captcha.verifying') : state === 'verified' ? t('captcha.verified') : state === 'failed' ? t('captcha.failed') : '';
  return (
    <div className={`captcha captcha-${state}`}>
      <div className="captcha-box">
        <input
          type="checkbox"
          id={id}
          checked={state === 'verified' || state === 'verifying'}
          aria-disabled={state === 'verifying' || undefined}
          aria-describedby={`${id}-status`}
          onChange={(e) => {
            if (state === 'verifying') return;
            if (e.target.checked) void verify();
            else {
              setState('idle');
              onChangeRef.current(null);
            }
          }}
        />
        <label htmlFor={id}>{t('captcha.label')}</label>
        {state === 'verifying' ? <span className="captcha-spinner" aria-hidden="true" /> : null}
      </div>
      <p id={`${id}-status`} className="captcha-status" role="status" aria-live="polite">
        {status}
      </p>
      <p className="hint captcha-note">{t('captcha.note')}</p>
    </div>
  );
}
