import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  addEmailMethod,
  addPhoneMethod,
  readMethodsOf,
  removeEmailMethod,
  removePhoneMethod,
  updateEmailMethod,
  updatePhoneMethod,
} from '../../../domain/security-info/admin-methods.js';
import { AppError } from '../../../errors.js';
import type { Services } from '../../../services.js';
import type { PhoneType } from '../../../store/auth-methods.js';
import { authenticate, authorize, requestContext } from '../../auth.js';
import { EMAIL_METHOD_ID, emailMethodView, PHONE_METHOD_IDS, phoneMethodView } from './authentication-methods.js';
import { userKey } from './users.js';

/**
 * Graph writes on another user's phone and email methods (reference §8.4): POST to the collection,
 * GET / PATCH / DELETE on Azure's fixed method ids. Apps need UserAuthenticationMethod.ReadWrite.All;
 * signed-in admins a role that manages authentication methods, then the "who can reset passwords"
 * table decides per target (in the use case).
 */

const phoneType = z.enum(['mobile', 'alternateMobile', 'office']);
const phoneNumber = z.string().min(1).max(64);
const phoneOdataType = z.literal('#microsoft.graph.phoneAuthenticationMethod').optional();
const emailOdataType = z.literal('#microsoft.graph.emailAuthenticationMethod').optional();
const emailAddress = z.email().max(254);

const newPhoneBody = z.strictObject({ '@odata.type': phoneOdataType, phoneNumber, phoneType });
const phonePatchBody = z.strictObject({ '@odata.type': phoneOdataType, phoneNumber, phoneType: phoneType.optional() });
const emailBody = z.strictObject({ '@odata.type': emailOdataType, emailAddress });

const BASE = '/v1.0/users/:key/authentication';

function phoneTypeOf(request: FastifyRequest): PhoneType {
  const id = ((request.params as { methodId?: string }).methodId ?? '').toLowerCase();
  const type = (Object.keys(PHONE_METHOD_IDS) as PhoneType[]).find((t) => PHONE_METHOD_IDS[t] === id);
  if (!type) throw new AppError('request.not_found', { message: `Phone method '${id.slice(0, 64)}' does not exist. Phone methods have fixed ids per phoneType.` });
  return type;
}

function assertEmailMethodId(request: FastifyRequest): void {
  const id = ((request.params as { methodId?: string }).methodId ?? '').toLowerCase();
  if (id !== EMAIL_METHOD_ID) throw new AppError('request.not_found', { message: `Email method '${id.slice(0, 64)}' does not exist. The email method id is ${EMAIL_METHOD_ID}.` });
}

export function graphAuthenticationMethodWriteRoutes(app: FastifyInstance, services: Services): void {
  const base = services.config.publicUrl;
  const entity = (userId: string, collection: 'phoneMethods' | 'emailMethods') => `${base}/v1.0/$metadata#users('${userId}')/authentication/${collection}/$entity`;

  /** Authenticates the caller, checks the capability and builds the audit context. */
  async function admin(request: FastifyRequest) {
    const principal = await authorize(services, request, 'users.authenticationMethods');
    return requestContext(request, principal);
  }

  app.post(`${BASE}/phoneMethods`, async (request, reply) => {
    const ctx = await admin(request);
    const body = newPhoneBody.parse(request.body);
    const method = await addPhoneMethod(services, ctx, userKey(request), body);
    return reply.code(201).send({ '@odata.context': entity(method.userId, 'phoneMethods'), ...phoneMethodView(method) });
  });

  app.get(`${BASE}/phoneMethods/:methodId`, async (request) => {
    const principal = await authenticate(services, request);
    const type = phoneTypeOf(request);
    const { user, methods } = await readMethodsOf(services, principal, userKey(request));
    const method = methods.phones.find((p) => p.phoneType === type);
    if (!method) throw new AppError('request.not_found', { message: `The user has no ${type} phone method.` });
    return { '@odata.context': entity(user.id, 'phoneMethods'), ...phoneMethodView(method) };
  });

  app.patch(`${BASE}/phoneMethods/:methodId`, async (request) => {
    const ctx = await admin(request);
    const type = phoneTypeOf(request);
    const body = phonePatchBody.parse(request.body);
    const method = await updatePhoneMethod(services, ctx, userKey(request), type, body);
    return { '@odata.context': entity(method.userId, 'phoneMethods'), ...phoneMethodView(method) };
  });

  app.delete(`${BASE}/phoneMethods/:methodId`, async (request, reply) => {
    const ctx = await admin(request);
    const type = phoneTypeOf(request);
    await removePhoneMethod(services, ctx, userKey(request), type);
    return reply.code(204).send();
  });

  app.post(`${BASE}/emailMethods`, async (request, reply) => {
    const ctx = await admin(request);
    const body = emailBody.parse(request.body);
    const method = await addEmailMethod(services, ctx, userKey(request), body.emailAddress);
    return reply.code(201).send({ '@odata.context': entity(method.userId, 'emailMethods'), ...emailMethodView(method) });
  });

  app.get(`${BASE}/emailMethods/:methodId`, async (request) => {
    const principal = await authenticate(services, request);
    assertEmailMethodId(request);
    const { user, methods } = await readMethodsOf(services, principal, userKey(request));
    if (!methods.email) throw new AppError('request.not_found', { message: 'The user has no email method.' });
    return { '@odata.context': entity(user.id, 'emailMethods'), ...emailMethodView(methods.email) };
  });

  app.patch(`${BASE}/emailMethods/:methodId`, async (request) => {
    const ctx = await admin(request);
    assertEmailMethodId(request);
    const body = emailBody.parse(request.body);
    const method = await updateEmailMethod(services, ctx, userKey(request), body.emailAddress);
    return { '@odata.context': entity(method.userId, 'emailMethods'), ...emailMethodView(method) };
  });

  app.delete(`${BASE}/emailMethods/:methodId`, async (request, reply) => {
    const ctx = await admin(request);
    assertEmailMethodId(request);
    await removeEmailMethod(services, ctx, userKey(request));
    return reply.code(204).send();
  });
}
