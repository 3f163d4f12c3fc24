import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker } from '../../src/delivery/outbox-worker.js';
import { systemContext } from '../../src/domain/tenants.js';
import { createUser } from '../../src/domain/users.js';
import { createTestContext, testDialects, type TestContext } from '../helpers/context.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js';

/**
 * The logo uploaded through PUT /api/v1/tenant/branding/logo travels inside each branded email as an
 * inline image (multipart/related, shown by `cid:` from the HTML), read when the message is sent.
 * Mails are triggered for real (a self-service password change queues "your password was changed")
 * and read back raw from the SMTP sink.
 */

/** A real 1×1 PNG, with 5000 more bytes after IEND (decoders ignore them) so the base64 spans many lines. */
const PNG = Buffer.concat([
  Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'),
  Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff)),
]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);

interface MimePart {
  type: string;
  headers: Map<string, string>;
  /** the body as sent (still transfer-encoded) */
  body: string;
  children: MimePart[];
}

/** The MIME tree of a raw message, bodies kept encoded so image bytes can be compared exactly. */
function mimeTree(entity: string): MimePart {
  const text = entity.replace(/\r\n/g, '\n');
  const end = text.indexOf('\n\n');
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const contentType = headers.get('content-type') ?? 'text/plain';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  const children =
    type.startsWith('multipart/') && boundary
      ? body
          .split(`--${boundary}`)
          .slice(1)
          .filter((s) => !s.startsWith('--'))
          .map((s) => mimeTree(s.replace(/^\n/, '')))
      : [];
  return { type, headers, body, children };
}

function leaves(part: MimePart): MimePart[] {
  return part.children.length === 0 ? [part] : part.children.flatMap(leaves);
}

function decoded(part: MimePart): Buffer {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  expect(encoding).toBe('base64');
  return Buffer.from(part.body.replace(/\s+/g, ''), 'base64');
}

function imagesOf(mail: ReceivedMail): MimePart[] {
  return leaves(mimeTree(mail.raw)).filter((p) => p.type.startsWith('image/'));
}

describe.each(testDialects())('the tenant logo in emails on %s', (dialect) => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let admin: string;
  let user: string;
  let password = 'Orig1nal-Kestrel-42';
  let round = 0;

  beforeAll(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext(dialect, { env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@contoso.test' } });
    admin = await ctx.userToken('admin@contoso.test');
    await createUser(ctx.services, systemContext(ctx.services), {
      tenantId: ctx.tenant.tenant.id,
      userPrincipalName: 'adele@contoso.test',
      displayName: 'Adele Vance',
      password,
      mail: 'adele@mail.contoso.test',
    });
    user = await ctx.userToken('adele@contoso.test');
  });
  afterAll(async () => {
    await ctx?.close();
    await sink?.close();
  });

  const call = (method: 'PUT' | 'DELETE' | 'PATCH', url: string, payload?: object): Promise<LightMyRequestResponse> =>
    ctx.app.inject({ method, url, headers: { authorization: `Bearer ${admin}` }, ...(payload ? { payload } : {}) });
  const uploadLogo = async (contentType: string, bytes: Buffer) => {
    const res = await call('PUT', '/api/v1/tenant/branding/logo', { contentType, dataBase64: bytes.toString('base64') });
    expect(res.statusCode, res.body).toBe(200);
  };
  const worker = () => createOutboxWorker(ctx.services, { mailer: ctx.services.mailer, sms: ctx.services.sms, voice: ctx.services.voice });

  /** Adele changes her password through Graph: that queues "your password was changed" to her mail address. */
  async function triggerMail(): Promise<void> {
    round += 1;
    const next = `N3w-Harbour-Lantern-${round}`;
    const res = await ctx.app.inject({ method: 'POST', url: '/v1.0/me/changePassword', payload: { currentPassword: password, newPassword: next }, headers: { authorization: `Bearer ${user}` } });
    expect(res.statusCode, res.body).toBe(204);
    password = next;
  }
  async function deliverOne(): Promise<ReceivedMail> {
    const before = sink.messages.length;
    expect(await worker().runOnce()).toMatchObject({ sent: 1, failed: 0 });
    const mails = sink.messages.slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.envelopeTo).toEqual(['adele@mail.contoso.test']);
    return mails[0]!;
  }

  let unbrandedText: string | undefined;

  it('without a logo: no image part, the name stands in the heading', async () => {
    await triggerMail();
    const mail = await deliverOne();
    expect(imagesOf(mail)).toEqual([]);
    expect(mail.headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(mail.html).not.toContain('cid:');
    expect(mail.html).toContain('<strong style="font-size:18px">Contoso</strong>');
    unbrandedText = mail.text;
  });

  it('with an uploaded PNG: an inline image/png part whose Content-ID the HTML shows and whose bytes are the upload; the text part is unchanged', async () => {
    await uploadLogo('image/png', PNG);
    await triggerMail();
    const mail = await deliverOne();

    const images = imagesOf(mail);
    expect(images).toHaveLength(1);
    const image = images[0]!;
    expect(image.type).toBe('image/png');
    expect(decoded(image).equals(PNG)).toBe(true);
    expect(image.headers.get('content-disposition')).toMatch(/^inline/);
    const contentId = /^<([^<>]+)>$/.exec(image.headers.get('content-id') ?? '')?.[1];
    expect(contentId).toBeDefined();

    // the HTML refers to exactly that part, with the tenant's name as its text alternative
    const cids = [...mail.html!.matchAll(/<img src="cid:([^"]+)" alt="([^"]*)"/g)];
    expect(cids.map((m) => [m[1], m[2]])).toEqual([[contentId, 'Contoso']]);
    expect(mail.html).not.toContain('data:image');

    // structure: alternative(text, related(html, image)), so clients show the image inside the HTML only
    const tree = mimeTree(mail.raw);
    expect(tree.type).toBe('multipart/alternative');
    expect(tree.children.map((c) => c.type)).toEqual(['text/plain', 'multipart/related']);
    expect(tree.children[1]!.children.map((c) => c.type)).toEqual(['text/html', 'image/png']);

    // the text part is what it was without a logo (same template, same pinned clock)
    expect(unbrandedText).toBeDefined();
    expect(mail.text).toBe(unbrandedText);
  });

  it('the logo is read when the message is sent: one changed after queueing goes out as it is now, and the row never holds it', async () => {
    await triggerMail();
    const queued = await ctx.services.db.selectFrom('outbox').selectAll().where('status', '=', 'pending').execute();
    expect(queued).toHaveLength(1);
    expect(JSON.stringify(queued[0])).not.toContain(PNG.toString('base64').slice(0, 40));

    await uploadLogo('image/jpeg', JPEG);
    const mail = await deliverOne();
    const images = imagesOf(mail);
    expect(images.map((i) => i.type)).toEqual(['image/jpeg']);
    expect(decoded(images[0]!).equals(JPEG)).toBe(true);
    const contentId = /^<([^<>]+)>$/.exec(images[0]!.headers.get('content-id') ?? '')?.[1];
    expect(mail.html).toContain(`<img src="cid:${contentId}" alt="Contoso"`);
  });

  it('a logo removed after queueing: sent without an image part', async () => {
    await triggerMail();
    expect((await call('DELETE', '/api/v1/tenant/branding/logo')).statusCode).toBe(200);
    const mail = await deliverOne();
    expect(imagesOf(mail)).toEqual([]);
    expect(mail.html).not.toContain('cid:');
    expect(mail.text).toBe(unbrandedText);
  });

  it('the alt text follows the branded name', async () => {
    expect((await call('PATCH', '/api/v1/tenant/branding', { displayName: 'Contoso & Partners' })).statusCode).toBe(200);
    await uploadLogo('image/png', PNG);
    await triggerMail();
    const mail = await deliverOne();
    expect(imagesOf(mail)).toHaveLength(1);
    expect(mail.html).toMatch(/<img src="cid:[^"]+" alt="Contoso &amp; Partners"/);
  });
});
