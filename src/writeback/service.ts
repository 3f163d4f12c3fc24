import type { WritebackSeam } from '../domain/sspr/writeback.js';
import { AppError } from '../errors.js';
import { runJob, type QueueDeps } from './queue.js';

/** The writeback seam of services.ts: each operation one job through the agents (queue.ts). */
export function createWriteback(deps: QueueDeps, options: { timeoutMs?: number } = {}): WritebackSeam {
  const timing = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  return {
    resetPassword: (i) =>
      runJob(deps, {
        tenantId: i.tenantId,
        userId: i.userId,
        kind: 'resetPassword',
        secrets: { newPassword: i.newPassword },
        options: { mustChange: i.mustChange ?? false, unlock: i.unlock ?? true },
        cloudHash: i.cloudHash ?? null,
        ...(i.origin ? { origin: i.origin } : {}),
        ...timing,
      }),
    changePassword: (i) =>
      runJob(deps, {
        tenantId: i.tenantId,
        userId: i.userId,
        kind: 'changePassword',
        secrets: { oldPassword: i.oldPassword, newPassword: i.newPassword },
        cloudHash: i.cloudHash ?? null,
        ...(i.origin ? { origin: i.origin } : {}),
        ...timing,
      }),
    unlock: (i) => runJob(deps, { tenantId: i.tenantId, userId: i.userId, kind: 'unlock', ...(i.origin ? { origin: i.origin } : {}), ...timing }),
    verifyPassword: async (i) => {
      try {
        await runJob(deps, { tenantId: i.tenantId, userId: i.userId, kind: 'verifyPassword', secrets: { password: i.password }, ...timing });
        return true;
      } catch (err) {
        if (err instanceof AppError && err.code === 'writeback.refused' && err.data?.reason === 'wrongPassword') return false;
        throw err;
      }
    },
  };
}
