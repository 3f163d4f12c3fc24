import { AppError } from '../../errors.js';

/**
 * The seam to the on-premises directory (SPEC 3.6). The hybrid issue replaces `resetPassword` with a
 * synchronous call through the writeback agent; until then no agent can be reached, so a user whose
 * password lives on-premises gets SSPR_0030 ("on-premises unreachable") and nothing is changed.
 */
export interface WritebackSeam {
  resetPassword(input: { tenantId: string; userId: string; newPassword: string }): Promise<void>;
}

export const writeback: WritebackSeam = {
  resetPassword: () => Promise.reject(new AppError('sspr.onprem_unreachable', { data: { ssprCode: 'SSPR_0030' } })),
};
