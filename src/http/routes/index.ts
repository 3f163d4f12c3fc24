import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { healthRoutes } from './health.js';

/** Every route of the app, mounted in one place. */
export function registerRoutes(app: FastifyInstance, services: Services): void {
  healthRoutes(app, services, app.metrics);
}
