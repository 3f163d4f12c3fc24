import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createMailer } from '../../src/delivery/mailer.js';
import { createSmsSender, createVoiceCaller } from '../../src/delivery/sms.js';

describe('mail configuration', () => {
  it('fails naming MAIL_FROM when SMTP_URL is set without it', () => {
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.contoso.test:587' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.contoso.test:587' })).toThrow(/MAIL_FROM: required when SMTP_URL is set/);
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.contoso.test:587', MAIL_FROM: '  ' })).toThrow(/MAIL_FROM/);
  });

  it('fails naming SMTP_URL when it is not an smtp(s) URL', () => {
    expect(() => loadConfig({ SMTP_URL: 'http://mail.contoso.test', MAIL_FROM: 'a@contoso.test' })).toThrow(/SMTP_URL: must be an smtp/);
  });

  it('accepts SMTP_URL with MAIL_FROM and builds an SMTP mailer', () => {
    const config = loadConfig({ SMTP_URL: 'smtps://user:pass@mail.contoso.test:465', MAIL_FROM: 'Contoso <no-reply@contoso.test>' });
    expect(config.smtpUrl).toBe('smtps://user:pass@mail.contoso.test:465');
    expect(createMailer(config).transport).toBe('smtp');
  });

  it('without SMTP_URL or webhooks, nothing leaves the process: outbox-only transports', () => {
    const config = loadConfig({});
    expect(createMailer(config).transport).toBe('outbox');
    expect(createSmsSender(config).transport).toBe('outbox');
    expect(createVoiceCaller(config).transport).toBe('outbox');
    const hooks = loadConfig({ SMS_WEBHOOK_URL: 'https://sms.test/send', VOICE_WEBHOOK_URL: 'https://voice.test/call' });
    expect(createSmsSender(hooks).transport).toBe('webhook');
    expect(createVoiceCaller(hooks).transport).toBe('webhook');
  });
});
