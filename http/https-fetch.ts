// A fetch over node:https that trusts given roots instead of the system's: Node 20's global fetch cannot be given
// roots of its own (undici's dispatcher is not exposed). Used by the WebSocket client for its challenge and by the
// HTTP transport to POST messages to peers whose certificates a private CA issued. Node (and Deno's Node compat).
import { request } from 'node:https';

/** The roots (PEM) that peers' certificates must chain to. */
export interface HttpsTrust {
  ca: string | string[];
}

/** Largest reply body read (the answers here are small: a challenge, a problem, an acknowledgement). */
const MAX_REPLY_BYTES = 64 * 1024;

/** A fetch-shaped function for https: URLs; TLS 1.3 at least, bodies as string or bytes, replies bounded. */
export function httpsFetch(trust: HttpsTrust): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.protocol !== 'https:') return reject(new TypeError(`not an https: URL: ${url.protocol}`));
      const body = init?.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array))
        return reject(new TypeError('httpsFetch sends a string or bytes as its body'));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const req = request(
        url,
        {
          method: init?.method ?? 'GET',
          headers,
          ca: trust.ca,
          minVersion: 'TLSv1.3',
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Uint8Array[] = [];
          let size = 0;
          res.on('data', (c: Uint8Array) => {
            size += c.length;
            if (size > MAX_REPLY_BYTES) req.destroy(new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
            const status = res.statusCode ?? 500;
            const all = new Uint8Array(size);
            let at = 0;
            for (const c of chunks) {
              all.set(c, at);
              at += c.length;
            }
            resolve(new Response(status === 204 || status === 304 ? null : all, { status, headers: h }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body ?? undefined);
    })) as typeof fetch;
}
