import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { BUILT_IN_ROLES, canResetPassword, ROLE } from '../../src/domain/roles.js';
import { checkUpn } from '../../src/domain/upn.js';

describe('UPN rules', () => {
  it.each([
    ['alice@contoso.test', undefined],
    ["o'brien.x-y_z!#^~@contoso.test", undefined],
    [`${'a'.repeat(64)}@contoso.test`, undefined],
    ['alice', 'no @'],
    ['a@b@contoso.test', 'more than one @'],
    [`${'a'.repeat(65)}@contoso.test`, 'longer than 64'],
    [`a@${'b'.repeat(40)}.contoso.test`, 'longer than 48'],
    [`${'a'.repeat(64)}@${'b'.repeat(44)}.test`, 'longer than 113'],
    ['alice.@contoso.test', 'period may not come directly before the @'],
    ['al ice@contoso.test', 'may only contain'],
    ['al%ice@contoso.test', 'may only contain'],
    ['@contoso.test', 'empty'],
    ['alice@localhost', 'not a domain name'],
  ])('%s → %s', (upn, problem) => {
    const result = checkUpn(upn);
    if (problem === undefined) expect(result).toBeUndefined();
    else expect(result?.reason).toContain(problem);
  });
});

describe('who can reset whose password (§4.3)', () => {
  const R = ROLE;
  it.each([
    [[R.helpdeskAdministrator], [], true],
    [[R.helpdeskAdministrator], [R.helpdeskAdministrator], true],
    [[R.helpdeskAdministrator], [R.userAdministrator], false],
    [[R.helpdeskAdministrator], [R.globalAdministrator], false],
    [[R.passwordAdministrator], [R.helpdeskAdministrator], false],
    [[R.passwordAdministrator], [R.directoryReaders], true],
    [[R.authenticationAdministrator], [R.authenticationAdministrator], true],
    [[R.userAdministrator], [R.userAdministrator, R.groupsAdministrator], true],
    [[R.userAdministrator], [R.privilegedRoleAdministrator], false],
    [[R.privilegedAuthenticationAdministrator], [R.globalAdministrator], true],
    [[R.globalAdministrator], [R.globalAdministrator], true],
    [[R.groupsAdministrator], [], false],
    [[], [], false],
  ])('%j may reset %j: %s', (actor, target, expected) => {
    expect(canResetPassword(actor, target)).toBe(expected);
  });

  it('ships the seventeen built-in roles with distinct Azure template ids', () => {
    expect(BUILT_IN_ROLES).toHaveLength(17);
    expect(new Set(BUILT_IN_ROLES.map((r) => r.id)).size).toBe(17);
    expect(BUILT_IN_ROLES.find((r) => r.displayName === 'Global Administrator')?.id).toBe('62e90394-69f5-4237-9190-012177145e10');
    // the two §4.3 rows that are not administrators: Azure's template ids, not privileged
    expect(BUILT_IN_ROLES.find((r) => r.displayName === 'User Experience Success Manager')).toMatchObject({ id: '27460883-1df1-4691-b032-3b79643e5e63', isPrivileged: false });
    expect(BUILT_IN_ROLES.find((r) => r.displayName === 'Usage Summary Reports Reader')).toMatchObject({ id: '75934031-6c7e-415a-99d7-48dbd49e875e', isPrivileged: false });
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', publicUrl: 'http://localhost:8080', databaseUrl: 'sqlite:./data/postern.db', logLevel: 'info', trustProxy: false });
    expect(c.argon2).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', PUBLIC_URL: 'ftp://x', LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', PUBLIC_URL: 'ftp://x', LOG_LEVEL: 'loud' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('PUBLIC_URL');
      expect(message).toContain('LOG_LEVEL');
    }
  });

  it('needs TLS cert and key together and trims a trailing slash from PUBLIC_URL', () => {
    expect(() => loadConfig({ TLS_CERT_FILE: '/x.pem' })).toThrow('TLS_CERT_FILE and TLS_KEY_FILE');
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.org/' }).publicUrl).toBe('https://id.example.org');
  });
});
