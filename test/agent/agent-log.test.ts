import { describe, expect, it } from 'vitest';
import { createAgentLog } from '../../agent/events.js';

describe('the agent event log', () => {
  it("keeps the event's own code when a field is called code (renamed codeDetail), and drops secret-named fields", () => {
    const lines: string[] = [];
    const log = createAgentLog((l) => lines.push(l), () => new Date('2026-11-26T00:00:00.000Z'));
    log.event('AuthTokenError', 'refused', { status: 401, code: 'agent.unauthenticated', event: 'x', token: 'pat_secret', credential: 'pac_secret' });
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ code: 32009, event: 'AuthTokenError', status: 401, codeDetail: 'agent.unauthenticated', eventDetail: 'x', msg: 'refused' });
    expect(lines[0]).not.toContain('secret');
  });
});
