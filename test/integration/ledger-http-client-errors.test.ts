// HttpLedger turns every way an answer can go wrong into the SatpError a gateway acts on: LEDGER_UNAVAILABLE
// (may or may not have happened: ask status) for network failures, timeouts, 5xx and contract-breaking
// answers; OP_CONFLICT for 409; INVALID_INPUT for 400, or before sending a malformed op.
import { describe, expect, it } from 'vitest';
import { isSatpError } from '../../kernel/errors.ts';
import { type LedgerOp, ledgerOp } from '../../kernel/ledger.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { LEDGER_KEY } from '../support/ledger-harness.ts';

const URL_ = 'http://ledger.test';
const LOCK = ledgerOp.lock('L1', 'asset-1', 'alice');

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isSatpError(e) ? e.code : String(e)),
  );

/** A client whose every request gets `answer`. */
const clientAnswering = (
  answer: (req: Request) => Response | Promise<Response>,
  extra: { timeoutMs?: number; maxResponseBytes?: number } = {},
) => {
  let calls = 0;
  const ledger = new HttpLedger({
    url: URL_,
    id: 'ledger-a',
    ...extra,
    fetch: async (input, init) => {
      calls++;
      return answer(new Request(input as string, init));
    },
  });
  return { ledger, calls: () => calls };
};

async function realReceipt(op: LedgerOp = LOCK) {
  const ledger = new MemoryLedger({
    id: 'ledger-a',
    signer: LEDGER_KEY.signer,
    assets: [
      { assetId: 'asset-1', owner: 'alice' },
      { assetId: 'asset-2', owner: 'alice' },
    ],
  });
  return ledger.execute(op);
}

describe('HttpLedger', () => {
  it('works against the app through an injected fetch, and connect() learns the ledger id from /health', async () => {
    const host = new MemoryLedger({
      id: 'ledger-b',
      signer: LEDGER_KEY.signer,
      assets: [{ assetId: 'asset-1', owner: 'alice' }],
    });
    const app = createLedgerApp(host);
    const ledger = await HttpLedger.connect(`${URL_}/`, {
      fetch: async (input, init) => app.request(input as string, init),
    });
    expect(ledger.id).toBe('ledger-b');
    expect(await ledger.execute(LOCK)).toEqual(await host.status('L1'));
    expect(await ledger.listAssets()).toEqual(await host.listAssets());
  });

  it('a network failure is LEDGER_UNAVAILABLE for execute, status and asset', async () => {
    const { ledger } = clientAnswering(() => Promise.reject(new TypeError('fetch failed')));
    expect(await codeOf(ledger.execute(LOCK))).toBe('LEDGER_UNAVAILABLE');
    expect(await codeOf(ledger.status('L1'))).toBe('LEDGER_UNAVAILABLE');
    expect(await codeOf(ledger.asset('asset-1'))).toBe('LEDGER_UNAVAILABLE');
  });

  it('a request with no answer ends at its timeout as LEDGER_UNAVAILABLE', async () => {
    const { ledger } = clientAnswering(
      (req) => new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason))),
      { timeoutMs: 50 },
    );
    expect(await codeOf(ledger.execute(LOCK))).toBe('LEDGER_UNAVAILABLE');
  });

  it('5xx answers and contract-breaking 200s are LEDGER_UNAVAILABLE', async () => {
    const receipt = await realReceipt();
    const other = await realReceipt(ledgerOp.lock('L2', 'asset-2', 'alice'));
    const answers: (() => Response)[] = [
      () => new Response('{"type":"x","title":"t","status":500,"detail":"boom"}', { status: 500 }),
      () => new Response('', { status: 503 }),
      () => new Response('not json', { status: 200 }),
      () => Response.json({ ...receipt, proof: undefined }),
      () => Response.json(other), // a receipt of another op
      () => Response.json({ ...receipt, ledgerId: 'ledger-z' }),
      () => Response.json(receipt, { status: 201 }),
    ];
    for (const [i, answer] of answers.entries()) {
      const { ledger } = clientAnswering(answer);
      expect(await codeOf(ledger.execute(LOCK)), `answer ${i}`).toBe('LEDGER_UNAVAILABLE');
    }
    const { ledger } = clientAnswering(() => Response.json(receipt));
    expect(await ledger.execute(LOCK)).toEqual(receipt);
    expect(await codeOf(ledger.status('L2'))).toBe('LEDGER_UNAVAILABLE');
  });

  it('a response over the size limit is refused without reading it all', async () => {
    const receipt = await realReceipt();
    const { ledger } = clientAnswering(() => Response.json({ ...receipt, padding: 'x'.repeat(5000) }), {
      maxResponseBytes: 1024,
    });
    expect(await codeOf(ledger.execute(LOCK))).toBe('LEDGER_UNAVAILABLE');
    const streamed = clientAnswering(
      () =>
        new Response(
          new ReadableStream({
            pull(c) {
              c.enqueue(new Uint8Array(512).fill(0x20)); // endless: only the limit stops it
            },
          }),
        ),
      { maxResponseBytes: 4096 },
    );
    expect(await codeOf(streamed.ledger.execute(LOCK))).toBe('LEDGER_UNAVAILABLE');
  });

  it('409 is OP_CONFLICT and 400 or 413 is INVALID_INPUT, with the server detail', async () => {
    const problem = (status: number) => () =>
      new Response(JSON.stringify({ type: 't', title: 't', status, detail: `detail ${status}` }), {
        status,
        headers: { 'content-type': 'application/problem+json' },
      });
    const conflict = clientAnswering(problem(409)).ledger.execute(LOCK);
    await expect(conflict).rejects.toMatchObject({ code: 'OP_CONFLICT', message: 'detail 409' });
    expect(await codeOf(clientAnswering(problem(400)).ledger.execute(LOCK))).toBe('INVALID_INPUT');
    expect(await codeOf(clientAnswering(problem(413)).ledger.execute(LOCK))).toBe('INVALID_INPUT');
  });

  it('refuses a malformed op before sending it, and answers malformed ids without asking', async () => {
    const { ledger, calls } = clientAnswering(() => new Response('', { status: 500 }));
    expect(await codeOf(ledger.execute({ opId: 'L1', kind: 'lock', assetId: 'asset-1' } as unknown as LedgerOp))).toBe(
      'INVALID_INPUT',
    );
    expect(await ledger.status('bad id')).toBeUndefined();
    expect(await ledger.asset('bad/id')).toBeUndefined();
    expect(calls()).toBe(0);
  });
});
