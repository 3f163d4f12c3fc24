/**
 * Solves the reset CAPTCHA's proof of work (lib/pow.ts) off the main thread. Vite bundles this file
 * as its own /assets script, so the strict CSP (worker-src falls back to script-src 'self') allows
 * it without blob: URLs.
 */
import { solvePow, type PowParameters } from '../lib/pow';

export interface SolveRequest {
  parameters: PowParameters;
  maxCounter?: number;
}
export type SolveMessage = { kind: 'progress'; tried: number } | { kind: 'done'; counter: number; derivedKey: string; time: number } | { kind: 'failed'; reason: string };

const post = (m: SolveMessage) => (self as unknown as { postMessage(message: unknown): void }).postMessage(m);

self.onmessage = async (event: MessageEvent<SolveRequest>) => {
  try {
    const solution = await solvePow(event.data.parameters, { maxCounter: event.data.maxCounter ?? 10_000_000, onProgress: (tried) => post({ kind: 'progress', tried }) });
    post(solution ? { kind: 'done', ...solution } : { kind: 'failed', reason: 'not found' });
  } catch (err) {
    post({ kind: 'failed', reason: err instanceof Error ? err.message : String(err) });
  }
};
