import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { pingDatabase } from '../../store/database.js';
import type { Metrics } from '../metrics.js';

export function healthRoutes(app: FastifyInstance, services: Services, metrics: Metrics): void {
  app.get('/healthz', async (_request, reply) => {
    try {
      await pingDatabase(services.db);
      return { status: 'ok', database: services.dialect };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: services.dialect });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
