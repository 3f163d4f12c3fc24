/** Sends one SMS. Throws when the gateway did not accept it (the outbox worker retries). */
export interface SmsSender {
  readonly transport: 'webhook' | 'outbox';
  send(to: string, body: string): Promise<void>;
}

/** Places one voice call that reads `body` out. Throws when the gateway did not accept it. */
export interface VoiceCaller {
  readonly transport: 'webhook' | 'outbox';
  call(to: string, body: string): Promise<void>;
}

export interface WebhookOptions {
  url: string;
  /** ms before the request is abandoned (and counted as a failure) */
  timeoutMs?: number;
}

/**
 * POST {"to", "body"} as JSON; any 2xx is success, anything else (or no answer in time) a failure.
 * Credentials may sit in the URL (https://user:pass@gateway/…): fetch refuses such URLs, so they move
 * to a Basic Authorization header. Errors name the status only: never the URL (it may hold a token)
 * or the body (it may hold a code).
 */
export function createWebhookPoster(kind: 'SMS' | 'voice', options: WebhookOptions): (to: string, body: string) => Promise<void> {
  const url = new URL(options.url);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const target = url.toString();
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (to, body) => {
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'POST',
        headers,
        body: JSON.stringify({ to, body }),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const reason = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError') ? `no answer within ${timeoutMs} ms` : 'request failed';
      const detail = err instanceof Error && err.cause instanceof Error && 'code' in err.cause ? ` (${String(err.cause.code)})` : '';
      throw new Error(`${kind} webhook ${reason}${detail}`);
    }
    // drain the body so the connection can be reused; its content is not ours to log
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new Error(`${kind} webhook answered HTTP ${response.status}`);
  };
}

export function createWebhookSmsSender(options: WebhookOptions): SmsSender {
  const post = createWebhookPoster('SMS', options);
  return { transport: 'webhook', send: post };
}

export function createWebhookVoiceCaller(options: WebhookOptions): VoiceCaller {
  const post = createWebhookPoster('voice', options);
  return { transport: 'webhook', call: post };
}

/** Webhook unset: nothing leaves the process (see outboxOnlyMailer). */
export const outboxOnlySms: SmsSender = { transport: 'outbox', async send() {} };
export const outboxOnlyVoice: VoiceCaller = { transport: 'outbox', async call() {} };

export function createSmsSender(config: { smsWebhookUrl: string | undefined }): SmsSender {
  return config.smsWebhookUrl ? createWebhookSmsSender({ url: config.smsWebhookUrl }) : outboxOnlySms;
}

export function createVoiceCaller(config: { voiceWebhookUrl: string | undefined }): VoiceCaller {
  return config.voiceWebhookUrl ? createWebhookVoiceCaller({ url: config.voiceWebhookUrl }) : outboxOnlyVoice;
}
