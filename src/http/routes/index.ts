import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { healthRoutes } from './health.js';
import { sessionRoutes } from './api/session.js';
import { oauthRoutes } from './oauth/discovery.js';
import { groupAndRoleRoutes } from './graph/role-assignments.js';
import { graphUserRoutes } from './graph/users.js';

/** Every route of the app, mounted in one place. */
export function registerRoutes(app: FastifyInstance, services: Services): void {
  healthRoutes(app, services, app.metrics);
  oauthRoutes(app, services);
  sessionRoutes(app, services);
  groupAndRoleRoutes(app, services);
  graphUserRoutes(app, services);
}
