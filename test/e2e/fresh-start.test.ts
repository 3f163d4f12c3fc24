import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { freePort, REPO_ROOT, spawnPostern, stopAllSpawned, type SpawnedProcess } from '../helpers/spawn-server.js';

/**
 * Acceptance: "Fresh clone: the README's start command serves on :8080 with SQLite; the printed
 * admin gets a token with the password grant and lists users."
 *
 * `npm start` is `tsc` then `node dist/src/main.js serve`; here the same entry point runs from
 * source (`node --import tsx src/main.ts serve`) as a real child process on an empty SQLite file.
 * It listens on a free port, NOT 8080: 8080 may be busy on a shared machine. That the default is
 * 8080 with SQLite at ./data/postern.db is asserted on loadConfig({}) below.
 */

const GRAPH_CLI_CLIENT_ID = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const LISTENING = /^Postern is listening on /;
const PASSWORD_LINE = /^\s*password:/m;

describe('the defaults a fresh clone starts with', () => {
  it('serves on 127.0.0.1:8080 with SQLite at ./data/postern.db when nothing is configured', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBe('sqlite:./data/postern.db');
    expect(config.publicUrl).toBe('http://localhost:8080');
  });

  it("the README's start command is npm start, which runs the serve command of the entry point this suite runs from source", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const firstBlock = /```sh\n([^`]*)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock.trim()).toMatch(/(^|&&\s*)npm start$/);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node dist/src/main.js serve');
    expect(pkg.scripts.prestart).toBe('npm run build');
  });
});

describe('fresh start: serve on an empty SQLite database', () => {
  let dataDir: string;
  let port: number;
  let baseUrl: string;
  let env: Record<string, string>;
  let first: SpawnedProcess;
  let adminUpn: string;
  let adminPassword: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'postern-fresh-'));
    port = await freePort();
    baseUrl = `http://localhost:${port}`;
    env = {
      DATABASE_URL: `sqlite:${join(dataDir, 'postern.db')}`,
      POSTERN_DATA_DIR: dataDir,
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_ITERATIONS: '1',
    };
    first = spawnPostern(['serve'], { env });
    await first.waitForLine(LISTENING, 45_000);
  });

  afterAll(async () => {
    await stopAllSpawned();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the bootstrap admin and a one-time password, then listens on the configured port', () => {
    const out = first.stdout();
    const admin = /^\s*admin:\s+(\S+@postern\.local)\s*$/m.exec(out);
    const password = /^\s*password:\s+(\S+)\s*$/m.exec(out);
    expect(admin, out).not.toBeNull();
    expect(password, out).not.toBeNull();
    adminUpn = admin![1]!;
    adminPassword = password![1]!;
    expect(adminPassword.length).toBeGreaterThanOrEqual(8);
    // the password is printed before the server takes requests
    expect(out.indexOf('password:')).toBeLessThan(out.search(/Postern is listening on/m));
    expect(out).toMatch(new RegExp(`Postern is listening on http://127\\.0\\.0\\.1:${port}\\b`));
    expect(out).toContain('database sqlite');
    // the password appears on stdout exactly once and nowhere in the logs
    expect(out.split(adminPassword)).toHaveLength(2);
    expect(first.stderr()).not.toContain(adminPassword);
  });

  it('the printed admin gets a token with the password grant and lists users', async () => {
    expect(adminPassword, 'the previous test must have parsed the password').toBeTruthy();
    const tokenRes = await fetch(`${baseUrl}/postern.local/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: GRAPH_CLI_CLIENT_ID,
        username: adminUpn,
        password: adminPassword,
        scope: 'https://graph.microsoft.com/.default offline_access openid',
      }),
    });
    const tokenBody = (await tokenRes.json()) as Record<string, unknown>;
    expect(tokenRes.status, JSON.stringify(tokenBody)).toBe(200);
    expect(tokenBody.token_type).toMatch(/^bearer$/i);
    expect(typeof tokenBody.access_token).toBe('string');
    expect(typeof tokenBody.refresh_token).toBe('string'); // offline_access was asked for
    expect(typeof tokenBody.id_token).toBe('string'); // openid was asked for

    const usersRes = await fetch(`${baseUrl}/v1.0/users`, { headers: { authorization: `Bearer ${tokenBody.access_token as string}` } });
    const users = (await usersRes.json()) as { value?: { userPrincipalName: string }[] };
    expect(usersRes.status, JSON.stringify(users)).toBe(200);
    expect(users.value?.map((u) => u.userPrincipalName)).toContain(adminUpn);
  });

  it('a second start on the same database prints no password and keeps the admin', { timeout: 60_000 }, async () => {
    await first.stop();
    // SIGTERM shuts serve down cleanly (a hung server would be SIGKILLed after 5 s and show 'SIGKILL')
    expect(await first.exited).toBe(0);

    const port2 = await freePort();
    const second = spawnPostern(['serve'], { env: { ...env, PORT: String(port2), PUBLIC_URL: `http://localhost:${port2}` } });
    try {
      await second.waitForLine(LISTENING, 45_000);
      expect(second.stdout()).not.toMatch(PASSWORD_LINE);
      expect(second.stdout()).not.toContain('created the default tenant');
      expect(adminPassword, 'the first test must have parsed the password').toBeTruthy();
      expect(second.stdout()).not.toContain(adminPassword);
      // same data: the first start's admin still signs in
      const res = await fetch(`http://localhost:${port2}/postern.local/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: GRAPH_CLI_CLIENT_ID,
          username: adminUpn,
          password: adminPassword,
          scope: 'https://graph.microsoft.com/.default',
        }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    } finally {
      await second.stop();
    }
    expect(await second.exited).toBe(0);
  });
});
