import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  signIns: Counter<'result'>;
  ssprSmsRefusals: Counter<'scope'>;
}

/** One registry per app instance, so tests can build several apps in one process. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'postern_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'postern_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    signIns: new Counter({
      name: 'postern_sign_ins_total',
      help: 'Password sign-ins by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    ssprSmsRefusals: new Counter({
      name: 'postern_sspr_sms_budget_refusals_total',
      help: 'Self-service reset texts and calls refused because the per-IP or per-country budget was spent',
      labelNames: ['scope'],
      registers: [registry],
    }),
  };
}
