import { describe, expect, it } from 'vitest';
import { DEFAULT_SSPR_POLICY, ssprPolicyOf } from '../../src/domain/sspr-policy.js';
import { isSsprAllowedForAdmins } from '../../src/domain/authorization-policy.js';
import { DEFAULT_TENANT_SETTINGS } from '../../src/store/tenants.js';
import { SECURITY_QUESTIONS } from '../../src/domain/security-questions-catalog.js';

const tenantWith = (extra: Record<string, unknown>) => ({ settings: { ...DEFAULT_TENANT_SETTINGS, ...extra } });

describe('ssprPolicyOf', () => {
  it('a tenant without an sspr key reads as SPEC 4.5 defaults', () => {
    expect(ssprPolicyOf(tenantWith({}))).toEqual({
      enabledFor: 'all',
      groupId: null,
      methodsRequired: 1,
      methods: ['email', 'mobileSms', 'appCode'],
      securityQuestions: { toRegister: 3, toReset: 3, custom: [], predefined: SECURITY_QUESTIONS.map((q) => q.id) },
      requireRegistrationOnSignIn: true,
      reconfirmAfterDays: 180,
      notifyUserOnReset: true,
      notifyAdminsOnAdminReset: true,
      helpdeskUrl: null,
      helpdeskEmail: null,
      allowUnlockWithoutReset: true,
      writebackEnabled: false,
    });
  });

  it('reads stored fields and falls back field by field (also inside securityQuestions)', () => {
    const p = ssprPolicyOf(
      tenantWith({
        sspr: { enabledFor: 'selected', groupId: 'g1', methodsRequired: 2, methods: ['email', 'securityQuestions'], securityQuestions: { toRegister: 5 }, helpdeskUrl: 'https://help.contoso.test', writebackEnabled: true },
      }),
    );
    expect(p).toEqual({
      ...DEFAULT_SSPR_POLICY,
      enabledFor: 'selected',
      groupId: 'g1',
      methodsRequired: 2,
      methods: ['email', 'securityQuestions'],
      securityQuestions: { ...DEFAULT_SSPR_POLICY.securityQuestions, toRegister: 5, toReset: 3, custom: [] },
      helpdeskUrl: 'https://help.contoso.test',
      writebackEnabled: true,
    });
  });

  it('ignores stored values of the wrong type or out of the enumerations', () => {
    const p = ssprPolicyOf(
      tenantWith({
        sspr: { enabledFor: 'everybody', groupId: 7, methodsRequired: 3, methods: ['email', 'pigeon'], securityQuestions: { toRegister: '4', custom: [1] }, reconfirmAfterDays: 1.5, notifyUserOnReset: 'no' },
      }),
    );
    expect(p).toEqual(DEFAULT_SSPR_POLICY);
    expect(ssprPolicyOf(tenantWith({ sspr: ['not', 'an', 'object'] }))).toEqual(DEFAULT_SSPR_POLICY);
  });

  it('answers a fresh copy: changing it does not change the defaults', () => {
    const p = ssprPolicyOf(tenantWith({}));
    p.methods.push('officeCall');
    p.securityQuestions.custom.push('x');
    expect(ssprPolicyOf(tenantWith({})).methods).toEqual(['email', 'mobileSms', 'appCode']);
    expect(DEFAULT_SSPR_POLICY.securityQuestions.custom).toEqual([]);
  });
});

describe('isSsprAllowedForAdmins', () => {
  it('defaults to true and follows settings.authorizationPolicy.allowedToUseSSPR', () => {
    expect(isSsprAllowedForAdmins(tenantWith({}))).toBe(true);
    expect(isSsprAllowedForAdmins(tenantWith({ authorizationPolicy: { allowedToUseSSPR: false } }))).toBe(false);
    expect(isSsprAllowedForAdmins(tenantWith({ authorizationPolicy: { allowedToUseSSPR: 'no' } }))).toBe(true);
  });
});
