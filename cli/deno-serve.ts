// Deno.serve with a close that ends. Deno's shutdown() waits for every connection to finish, and one whose request is
// still being answered holds it for as long as that lasts: a gateway of the SIGKILL storm waited on its listener past
// its parent's grace (test/integration/deno-serve-bounded.test.ts). The gateway closes its sockets first (1001, and
// waits for them a moment: transports/ws/deno/server.ts), so what is left when the listener closes is cut, through
// the server's abort signal, as the Node server terminates the sockets still open after its grace
// (transports/ws/node/server.ts). Not shutdown() then abort: Deno 2.9 throws from the abort (BadResource) when a
// shutdown() is under way.

/** The slice of Deno's API used here, declared so the file type-checks without Deno's types. */
declare const Deno: {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen?: () => void;
      cert?: string;
      key?: string;
      signal?: AbortSignal;
    },
    handler: (req: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; finished: Promise<void> };
};

/** How long a close waits for the server to finish once it is cut. */
export const CLOSE_MS = 2_000;

export interface BoundedServer {
  port: number;
  /** Stops listening and cuts every connection left; resolves when the server has finished, or after CLOSE_MS. */
  close(): Promise<void>;
}

export function serveBounded(
  options: { hostname: string; port: number; cert?: string; key?: string },
  handler: (req: Request) => Response | Promise<Response>,
): BoundedServer {
  const abort = new AbortController();
  const http = Deno.serve({ ...options, onListen: () => {}, signal: abort.signal }, handler);
  let closing: Promise<void> | undefined;
  return {
    port: http.addr.port,
    close: () =>
      (closing ??= (async () => {
        abort.abort();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          http.finished.catch(() => undefined),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_MS))),
        ]);
        clearTimeout(timer);
      })()),
  };
}
