import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { healthRoutes } from './health.js';
import { devOutboxRoutes } from './dev-outbox.js';
import { sessionRoutes } from './api/session.js';
import { passwordPolicyRoutes } from './api/password-policy.js';
import { ssprPolicyRoutes } from './api/sspr-policy.js';
import { authorizationPolicyRoutes } from './graph/authorization-policy.js';
import { oauthRoutes } from './oauth/discovery.js';
import { securityInfoRoutes } from './api/security-info.js';
import { ssprFlowRoutes } from './api/sspr-flow.js';
import { graphAuthenticationMethodRoutes } from './graph/authentication-methods.js';
import { directoryRoleRoutes } from './graph/directory-roles.js';
import { groupRoutes } from './graph/groups.js';
import { roleAssignmentRoutes } from './graph/role-assignments.js';
import { graphUserRoutes } from './graph/users.js';
import { registrationReportRoutes } from './graph/registration-report.js';
import { graphAuthenticationMethodWriteRoutes } from './graph/authentication-methods-write.js';
import { graphResetPasswordRoutes } from './graph/reset-password.js';
import { userAdminRoutes } from './api/user-admin.js';

/** Every route of the app, mounted in one place. */
export function registerRoutes(app: FastifyInstance, services: Services): void {
  healthRoutes(app, services, app.metrics);
  devOutboxRoutes(app, services);
  oauthRoutes(app, services);
  sessionRoutes(app, services);
  passwordPolicyRoutes(app, services);
  ssprPolicyRoutes(app, services);
  authorizationPolicyRoutes(app, services);
  graphUserRoutes(app, services);
  groupRoutes(app, services);
  directoryRoleRoutes(app, services);
  roleAssignmentRoutes(app, services);
  securityInfoRoutes(app, services);
  ssprFlowRoutes(app, services);
  graphAuthenticationMethodRoutes(app, services);
  registrationReportRoutes(app, services);
  graphAuthenticationMethodWriteRoutes(app, services);
  graphResetPasswordRoutes(app, services);
  userAdminRoutes(app, services);
}
