import { parentPort } from 'node:worker_threads';
import { verifyCrypt } from './ldap-hashes-crypt.js';

/**
 * Worker entry of the crypt pool (crypt-pool.ts): runs sha-crypt / md5-crypt off the main event
 * loop. One request at a time per worker; every answer is a boolean, so a malformed value or a bug
 * in the computation is a failed verification and never takes the worker down.
 */
export interface CryptRequest {
  readonly id: number;
  readonly value: string;
  readonly password: string;
}

export interface CryptAnswer {
  readonly id: number;
  readonly ok: boolean;
}

function answer(request: CryptRequest): CryptAnswer {
  try {
    return { id: request.id, ok: verifyCrypt(request.value, request.password) };
  } catch {
    return { id: request.id, ok: false };
  }
}

parentPort?.on('message', (request: CryptRequest) => {
  parentPort?.postMessage(answer(request));
});
