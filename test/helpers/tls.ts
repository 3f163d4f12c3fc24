import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** the PEM certificate, which is its own CA (self-signed) */
  ca: string;
  /**
   * A fetch dispatcher that trusts this certificate and nothing else beyond the defaults. TLS
   * verification stays ON: only this test process, and only requests given this dispatcher,
   * trust the certificate.
   */
  dispatcher: Agent;
  cleanup(): Promise<void>;
}

/**
 * A self-signed certificate for localhost / 127.0.0.1, made with the openssl CLI into a temp
 * directory. Valid for one day; removed by cleanup().
 */
export function createTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'postern-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
        '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout', keyFile, '-out', certFile,
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl could not make a test certificate: ${String(err)}\n${stderr}`);
  }
  const ca = readFileSync(certFile, 'utf8');
  const dispatcher = new Agent({ connect: { ca } });
  return {
    certFile,
    keyFile,
    ca,
    dispatcher,
    cleanup: async () => {
      await dispatcher.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
