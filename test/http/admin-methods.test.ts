import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/domain/roles.js';
import { findEmailMethod, listPhoneMethods } from '../../src/store/auth-methods.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { auditOf, caller, userWithRoles } from './admin-helpers.js';
import { setSsprPolicy } from './security-info-helpers.js';
import { post, SSPR, startFlow } from './sspr-helpers.js';

const OFFICE = 'e37fc753-ff3b-4958-9484-eaa9425c82bc';
const MOBILE = '3179e48a-750b-4051-897c-87b9720928f7';
const ALTERNATE = 'b6332ec1-7057-4abe-9331-3d72feddfe41';
const EMAIL = '3ddfcfc8-9383-446f-83cc-3ab9be4be18f';
const CTX = 'http://localhost:8080/v1.0/$metadata#users';

describe.each(testDialects())('Graph: admins manage phone and email methods on %s', (dialect) => {
  let ctx: TestContext;
  let call: ReturnType<typeof caller>;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext(dialect);
    call = caller(ctx);
    admin = await ctx.userToken('admin@contoso.test');
  });
  afterAll(async () => ctx?.close());

  const phones = async (userId: string) => (await listPhoneMethods(ctx.services.db, userId)).map((p) => [p.phoneType, p.number]);
  const methodsUrl = (userId: string, path: string) => `/v1.0/users/${userId}/authentication/${path}`;

  it('adds, reads, updates and deletes an office phone, stores E.164, audits with Azure names and masked numbers', async () => {
    const { user } = await userWithRoles(ctx, 'office');
    const created = await call('POST', methodsUrl(user.userPrincipalName, 'phoneMethods'), admin, { phoneNumber: '+1 4255550199x12', phoneType: 'office' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({
      '@odata.context': `${CTX}('${user.id}')/authentication/phoneMethods/$entity`,
      '@odata.type': '#microsoft.graph.phoneAuthenticationMethod',
      id: OFFICE,
      phoneNumber: '+1 4255550199',
      phoneType: 'office',
      smsSignInState: 'notSupported',
    });
    expect(await phones(user.id)).toEqual([['office', '+14255550199']]);
    const read = await call('GET', methodsUrl(user.id, `phoneMethods/${OFFICE}`), admin);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(created.json());
    // the list route shows it too
    expect((await call('GET', methodsUrl(user.id, 'phoneMethods'), admin)).json<{ value: { id: string }[] }>().value.map((p) => p.id)).toEqual([OFFICE]);

    const [registered] = await auditOf(ctx, 'Admin registered security info', user.id);
    expect(registered).toMatchObject({ logged_by_service: 'Authentication Methods', category: 'UserManagement', operation_type: 'Add', result: 'success', result_reason: 'Admin registered Office phone' });
    expect(JSON.parse(registered!.additional_details)).toEqual([{ key: 'Method', value: 'Office phone' }]);
    expect(JSON.parse(registered!.target_resources)[0].modifiedProperties).toEqual([{ displayName: 'PhoneNumber', oldValue: null, newValue: '["+1 •••• ••• 0199"]' }]);
    expect(JSON.parse(registered!.initiated_by).user.userPrincipalName).toBe('admin@contoso.test');

    const patched = await call('PATCH', methodsUrl(user.id, `phoneMethods/${OFFICE}`), admin, { phoneNumber: '+1 4255550177', phoneType: 'office' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: OFFICE, phoneNumber: '+1 4255550177', phoneType: 'office' });
    expect(await phones(user.id)).toEqual([['office', '+14255550177']]);
    const [updated] = await auditOf(ctx, 'Admin updated security info', user.id);
    expect(updated).toMatchObject({ operation_type: 'Update', result_reason: 'Admin updated Office phone' });
    expect(JSON.parse(updated!.target_resources)[0].modifiedProperties[0]).toEqual({ displayName: 'PhoneNumber', oldValue: '["+1 •••• ••• 0199"]', newValue: '["+1 •••• ••• 0177"]' });
    // the same number again changes nothing and records nothing
    expect((await call('PATCH', methodsUrl(user.id, `phoneMethods/${OFFICE}`), admin, { phoneNumber: '+14255550177' })).statusCode).toBe(200);
    expect(await auditOf(ctx, 'Admin updated security info', user.id)).toHaveLength(1);

    expect((await call('DELETE', methodsUrl(user.id, `phoneMethods/${OFFICE}`), admin)).statusCode).toBe(204);
    expect(await phones(user.id)).toEqual([]);
    expect((await call('GET', methodsUrl(user.id, `phoneMethods/${OFFICE}`), admin)).statusCode).toBe(404);
    expect((await call('DELETE', methodsUrl(user.id, `phoneMethods/${OFFICE}`), admin)).statusCode).toBe(404);
    const [deleted] = await auditOf(ctx, 'Admin deleted security info', user.id);
    expect(deleted).toMatchObject({ operation_type: 'Delete', result_reason: 'Admin deleted Office phone' });

    // no audit row carries a full number
    const rows = await ctx.services.db.selectFrom('audit_events').select(['target_resources', 'result_reason', 'additional_details']).execute();
    expect(JSON.stringify(rows)).not.toMatch(/4255550(199|177)/);
  });

  it('keeps one phone per type, needs a mobile before an alternate mobile, and keeps the mobile while an alternate exists', async () => {
    const { user } = await userWithRoles(ctx, 'phones');
    const alone = await call('POST', methodsUrl(user.id, 'phoneMethods'), admin, { phoneNumber: '+1 4255550111', phoneType: 'alternateMobile' });
    expect(alone.statusCode).toBe(400);
    expect(alone.json().error.code).toBe('Request_BadRequest');
    expect((await call('POST', methodsUrl(user.id, 'phoneMethods'), admin, { phoneNumber: '+1 4255550110', phoneType: 'mobile' })).statusCode).toBe(201);
    const second = await call('POST', methodsUrl(user.id, 'phoneMethods'), admin, { phoneNumber: '+1 4255550112', phoneType: 'mobile' });
    expect(second.statusCode).toBe(400);
    expect(second.json().error).toMatchObject({ code: 'badRequest', message: expect.stringContaining('already has a mobile phone method') });
    expect((await call('POST', methodsUrl(user.id, 'phoneMethods'), admin, { phoneNumber: '+1 4255550111', phoneType: 'alternateMobile' })).statusCode).toBe(201);
    expect(await phones(user.id)).toEqual([['mobile', '+14255550110'], ['alternateMobile', '+14255550111']]);
    const dropMobile = await call('DELETE', methodsUrl(user.id, `phoneMethods/${MOBILE}`), admin);
    expect(dropMobile.statusCode).toBe(400);
    expect(dropMobile.json().error.message).toContain('alternate mobile');
    // a type cannot change through PATCH
    const retype = await call('PATCH', methodsUrl(user.id, `phoneMethods/${ALTERNATE}`), admin, { phoneNumber: '+1 4255550119', phoneType: 'office' });
    expect(retype.statusCode).toBe(400);
    expect(await phones(user.id)).toEqual([['mobile', '+14255550110'], ['alternateMobile', '+14255550111']]);
    expect(await auditOf(ctx, 'Admin registered security info', user.id)).toHaveLength(2);
    expect((await call('GET', methodsUrl(user.id, 'phoneMethods/00000000-0000-0000-0000-000000000000'), admin)).statusCode).toBe(404);
  });

  it('adds, reads, updates and deletes the email method at its fixed id', async () => {
    const { user } = await userWithRoles(ctx, 'mail');
    const created = await call('POST', methodsUrl(user.id, 'emailMethods'), admin, { emailAddress: 'kim.private@example.test' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({
      '@odata.context': `${CTX}('${user.id}')/authentication/emailMethods/$entity`,
      '@odata.type': '#microsoft.graph.emailAuthenticationMethod',
      id: EMAIL,
      emailAddress: 'kim.private@example.test',
    });
    expect((await call('POST', methodsUrl(user.id, 'emailMethods'), admin, { emailAddress: 'other@example.test' })).statusCode).toBe(400);
    expect((await call('GET', methodsUrl(user.id, `emailMethods/${EMAIL}`), admin)).json().emailAddress).toBe('kim.private@example.test');
    expect((await call('GET', methodsUrl(user.id, `emailMethods/${OFFICE}`), admin)).statusCode).toBe(404);
    const patched = await call('PATCH', methodsUrl(user.id, `emailMethods/${EMAIL}`), admin, { emailAddress: 'kim.new@example.test' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().emailAddress).toBe('kim.new@example.test');
    expect((await findEmailMethod(ctx.services.db, user.id))?.address).toBe('kim.new@example.test');
    const [updated] = await auditOf(ctx, 'Admin updated security info', user.id);
    expect(JSON.parse(updated!.target_resources)[0].modifiedProperties[0]).toEqual({ displayName: 'EmailAddress', oldValue: '["k***@example.test"]', newValue: '["k***@example.test"]' });
    expect(JSON.stringify(updated)).not.toContain('kim.');
    expect((await call('DELETE', methodsUrl(user.id, `emailMethods/${EMAIL}`), admin)).statusCode).toBe(204);
    expect(await findEmailMethod(ctx.services.db, user.id)).toBeUndefined();
    expect(await auditOf(ctx, 'Admin deleted security info', user.id)).toHaveLength(1);
  });

  it('an office phone set by an admin is offered, and usable, in a self-service reset', async () => {
    await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'officeCall'], methodsRequired: 1 });
    try {
      const { user } = await userWithRoles(ctx, 'desk');
      const before = await startFlow(ctx, user.userPrincipalName);
      expect(before.statusCode).toBe(403);
      expect(before.json().error.code).toBe('sspr.not_enough_methods');
      expect((await call('POST', methodsUrl(user.id, 'phoneMethods'), admin, { phoneNumber: '+1 4255550155', phoneType: 'office' })).statusCode).toBe(201);
      const started = await startFlow(ctx, user.userPrincipalName);
      expect(started.statusCode).toBe(201);
      const flow = started.json<{ flowId: string; methods: { method: string; target: string }[] }>();
      expect(flow.methods).toEqual([{ method: 'officeCall', target: '+1 •••• ••• 0155' }]);
      const call1 = await post(ctx, `${SSPR}/flows/${flow.flowId}/verifications`, { method: 'officeCall', phoneNumber: '+1 425 555 0155' });
      expect(call1.statusCode).toBe(202);
    } finally {
      await setSsprPolicy(ctx, { methods: ['email', 'mobileSms', 'appCode'] });
    }
  });

  it('refuses callers without the role or permission, targets the table forbids, and the caller themselves', async () => {
    const { user: plain } = await userWithRoles(ctx, 'target');
    const url = methodsUrl(plain.id, 'phoneMethods');
    const body = { phoneNumber: '+1 4255550133', phoneType: 'mobile' };

    // Helpdesk Administrators reset passwords but do not manage methods
    const { token: helpdesk } = await userWithRoles(ctx, 'helpdesk', [ROLE.helpdeskAdministrator]);
    const hd = await call('POST', url, helpdesk, body);
    expect(hd.statusCode).toBe(403);
    expect(hd.json().error.message).toContain('a directory role that allows it');
    const { token: peer } = await userWithRoles(ctx, 'peer');
    expect((await call('POST', url, peer, body)).statusCode).toBe(403);

    // an Authentication Administrator manages a plain user's methods, not a Global Administrator's
    const { token: authAdmin } = await userWithRoles(ctx, 'authadm', [ROLE.authenticationAdministrator]);
    expect((await call('POST', url, authAdmin, body)).statusCode).toBe(201);
    const onGlobal = await call('POST', methodsUrl(ctx.tenant.admin.id, 'phoneMethods'), authAdmin, body);
    expect(onGlobal.statusCode).toBe(403);
    expect(onGlobal.json().error.message).toMatch(/Authentication Administrator.*cannot manage the authentication methods of a user who holds Global Administrator.*who can reset passwords/);
    // and the Global Administrator may not use the admin path on their own methods
    const own = await call('POST', methodsUrl(ctx.tenant.admin.id, 'emailMethods'), admin, { emailAddress: 'me@example.test' });
    expect(own.statusCode).toBe(403);
    expect(own.json().error.message).toContain('/api/v1/me/security-info');
    expect(await phones(ctx.tenant.admin.id)).toEqual([]);
    expect(await findEmailMethod(ctx.services.db, ctx.tenant.admin.id)).toBeUndefined();

    // apps: UserAuthenticationMethod.ReadWrite.All and nothing else
    const good = await ctx.appToken(['UserAuthenticationMethod.ReadWrite.All']);
    const bad = await ctx.appToken(['User.ReadWrite.All']);
    expect((await call('POST', methodsUrl(plain.id, 'emailMethods'), bad, { emailAddress: 'x@example.test' })).statusCode).toBe(403);
    expect((await call('POST', methodsUrl(plain.id, 'emailMethods'), good, { emailAddress: 'x@example.test' })).statusCode).toBe(201);
    expect((await call('GET', methodsUrl(plain.id, `emailMethods/${EMAIL}`), bad)).statusCode).toBe(403);
    expect((await call('DELETE', methodsUrl(plain.id, `emailMethods/${EMAIL}`), good)).statusCode).toBe(204);
    const [appEvent] = await auditOf(ctx, 'Admin registered security info', plain.id).then((r) => r.filter((e) => e.additional_details.includes('Email')));
    expect(JSON.parse(appEvent!.initiated_by).app.appId).toBeTruthy();

    // unknown users are 404, unauthenticated calls 401
    expect((await call('POST', methodsUrl('nobody@contoso.test', 'phoneMethods'), admin, body)).statusCode).toBe(404);
    expect((await call('POST', url, undefined, body)).statusCode).toBe(401);
  });

  it('rejects bad input with 400 naming the field, and changes nothing', async () => {
    const { user } = await userWithRoles(ctx, 'bad');
    const url = methodsUrl(user.id, 'phoneMethods');
    const cases: [unknown, string][] = [
      [{ phoneNumber: 'not a number', phoneType: 'mobile' }, 'phoneNumber'],
      [{ phoneNumber: '4255550101', phoneType: 'mobile' }, 'phoneNumber'],
      [{ phoneNumber: '+1 12', phoneType: 'mobile' }, 'phoneNumber'],
      [{ phoneNumber: '+1 4255550101', phoneType: 'pager' }, 'phoneType'],
      [{ phoneNumber: '+1 4255550101' }, 'phoneType'],
      [{ phoneNumber: '+1 4255550101', phoneType: 'mobile', smsSignInState: 'ready' }, 'smsSignInState'],
      [[{ phoneNumber: '+1 4255550101', phoneType: 'mobile' }], 'request'],
    ];
    for (const [payload, field] of cases) {
      const res = await call('POST', url, admin, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.message, JSON.stringify(payload)).toContain(field);
    }
    const badMail = await call('POST', methodsUrl(user.id, 'emailMethods'), admin, { emailAddress: 'nope' });
    expect(badMail.statusCode).toBe(400);
    expect(badMail.json().error.message).toContain('emailAddress');
    const dup = await ctx.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: '{"phoneNumber":"+1 4255550101","phoneType":"mobile","phoneType":"office"}',
    });
    expect(dup.statusCode).toBe(400);
    expect(await phones(user.id)).toEqual([]);
    expect(await findEmailMethod(ctx.services.db, user.id)).toBeUndefined();
    expect(await auditOf(ctx, 'Admin registered security info', user.id)).toEqual([]);
  });
});
