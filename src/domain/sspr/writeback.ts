import { AppError } from '../../errors.js';
import type { JobOrigin } from '../../writeback/protocol.js';

/**
 * The seam to the on-premises directory (SPEC 3.6), built once in services.ts (services.writeback,
 * src/writeback/service.ts) and passed as a dependency. Each call runs synchronously through the
 * tenant's writeback agents: it resolves when the directory applied the change, and throws
 * sspr.onprem_unreachable (SSPR_0030; no agent, no answer) or writeback.refused (the directory's
 * reason in the user's words). Nothing in the cloud may change before it resolves.
 */
export interface WritebackDone {
  /** the job, to mark its cloud side applied in the same transaction as the cloud change */
  jobId: string;
  /** the agent that applied it (audit: OnPremisesAgent) */
  agentName: string;
  durationMs: number;
}

export interface WritebackSeam {
  /** origin: who asked, so the agent's log names the operation (Azure's 31001 self-service vs 31009 admin reset) */
  resetPassword(input: { tenantId: string; userId: string; newPassword: string; mustChange?: boolean; unlock?: boolean; cloudHash?: string | null; origin?: JobOrigin }): Promise<WritebackDone>;
  changePassword(input: { tenantId: string; userId: string; oldPassword: string; newPassword: string; cloudHash?: string | null; origin?: JobOrigin }): Promise<WritebackDone>;
  unlock(input: { tenantId: string; userId: string; origin?: JobOrigin }): Promise<WritebackDone>;
  /** pass-through authentication (wired into sign-in by the sync/PTA part) */
  verifyPassword(input: { tenantId: string; userId: string; password: string }): Promise<boolean>;
}

const unreachable = (): Promise<never> => Promise.reject(new AppError('sspr.onprem_unreachable', { data: { ssprCode: 'SSPR_0030' } }));

/** For deps built without services (no agent can be reached): every operation is SSPR_0030. */
export const writeback: WritebackSeam = {
  resetPassword: unreachable,
  changePassword: unreachable,
  unlock: unreachable,
  verifyPassword: unreachable,
};

/** Audit detail of an on-premises operation (reference §4.4: OnPremisesAgent); none for a cloud one. */
export function writebackDetails(done: WritebackDone | null): { key: string; value: string }[] {
  if (!done) return [];
  return [
    { key: 'OnPremisesAgent', value: done.agentName },
    { key: 'OnPremisesDurationMs', value: String(done.durationMs) },
  ];
}

/** The directory's refusal reason carried by a writeback.refused error, for audit result reasons. */
export function refusalReasonOf(err: { data?: Readonly<Record<string, unknown>> | undefined }): string {
  const reason = err.data?.reason;
  return typeof reason === 'string' ? reason : 'other';
}
