import { connect } from 'node:net';

/**
 * Closed loop over keep-alive sockets, one per request in `requests`: each sends its request again as
 * soon as a whole answer is in. Counts 200s finished inside [start, end] (`counted`) and in all
 * (`all`); any other status stops the run. Raw sockets: the lightest client there is, so the load
 * generator takes as little as possible of the cores it shares with the server.
 */
export function closedLoop(base: URL, requests: readonly Buffer[], start: number, end: number): Promise<{ counted: number; all: number }> {
  let counted = 0;
  let all = 0;
  const one = (request: Buffer) =>
    new Promise<void>((ok, fail) => {
      const socket = connect({ host: base.hostname, port: Number(base.port) });
      socket.setNoDelay(true);
      let buffered: Buffer = Buffer.alloc(0);
      socket.on('connect', () => socket.write(request));
      socket.on('error', fail);
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        for (;;) {
          const headEnd = buffered.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const head = buffered.subarray(0, headEnd).toString('latin1');
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
          if (!Number.isFinite(length)) return fail(new Error(`answer without content-length: ${head.split('\r\n')[0]}`));
          if (buffered.length < headEnd + 4 + length) return;
          if (!head.startsWith('HTTP/1.1 200')) {
            socket.destroy();
            return fail(new Error(`the server answered ${head.split('\r\n')[0]}: ${buffered.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8').slice(0, 300)}`));
          }
          buffered = buffered.subarray(headEnd + 4 + length);
          const now = Date.now();
          all += 1;
          if (now >= start && now <= end) counted += 1;
          if (now >= end) {
            socket.end();
            return ok();
          }
          socket.write(request);
        }
      });
    });
  return Promise.all(requests.map(one)).then(() => ({ counted, all }));
}
