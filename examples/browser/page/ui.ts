// The page's DOM: gateway panels, the sessions and balances tables, and the timeline. Everything the test waits for
// is a data-* attribute set here (docs/demo.md lists them).
import type { LogEntry } from '../../../kernel/entry.ts';
import type { AssetRecord } from '../../../kernel/ledger.ts';
import { describeEntry, shortType } from '../../../cli/gateway-events.ts';
import { messageName } from '../../demo/narrate.ts';

const $ = <T extends HTMLElement>(selector: string): T => {
  const el = document.querySelector<T>(selector);
  if (!el) throw new Error(`the page has no ${selector}`);
  return el;
};

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

const T0 = performance.now();
const clock = () => `+${((performance.now() - T0) / 1000).toFixed(2)}s`;

/** The message type an entry is about (sent, received, or a recovery message), short: `commit-ready-msg`. */
export function typeOf(e: LogEntry): string {
  const p = e.payload as { message?: { messageType?: unknown }; messageType?: unknown } | null;
  const urn = p?.message?.messageType ?? p?.messageType;
  return urn !== undefined ? shortType(urn) : (e.recoveryMessage ?? '');
}

export interface GatewayPanel {
  id: string;
  title: string;
  /** Omitted for a gateway the page cannot crash. */
  onCrash?: () => void;
}

export class Ui {
  /** Told after each batch of durable entries is drawn. */
  onDurable?: (entries: readonly LogEntry[]) => void;
  /** Told after a gateway's panel changed (booting, up, crashed). */
  onLife?: (gw: string) => void;
  readonly #outcomeCells = new Map<string, HTMLElement>();
  /** Outcomes by `${session} ${gw}`, kept for a row that is drawn after its end entry arrived. */
  readonly #outcomes = new Map<string, string>();

  constructor() {
    $('#timeline').replaceChildren();
  }

  addGateway(g: GatewayPanel): void {
    const crash = g.onCrash
      ? [el('button', { class: 'crash', id: `crash-${g.id}`, disabled: '' }, `crash ${g.id}`)]
      : [];
    const panel = el(
      'section',
      { class: 'gateway', id: `gw-${g.id}`, 'data-state': 'booting', 'data-incarnation': '0' },
      el('h3', {}, g.id),
      el('div', {}, g.title),
      el('div', { class: 'life' }, 'booting'),
      ...crash,
    );
    if (g.onCrash) crash[0]!.addEventListener('click', g.onCrash);
    $('#gateways').append(panel);
    $('#sessions thead tr').append(el('th', {}, g.id));
  }

  /** A gateway's life: booting, up (with the sessions its boot recovered), crashed. */
  life(gw: string, state: 'booting' | 'up' | 'crashed', incarnation: number, recovered = 0, why = ''): void {
    const panel = $(`#gw-${CSS.escape(gw)}`);
    panel.dataset.state = state;
    panel.dataset.incarnation = String(incarnation);
    const text =
      state === 'up'
        ? `incarnation ${incarnation}: up, recovered ${recovered} session${recovered === 1 ? '' : 's'}`
        : state === 'crashed'
          ? `incarnation ${incarnation}: crashed`
          : `incarnation ${incarnation}: booting from its log`;
    if (state === 'up') panel.dataset.recovered = String(recovered);
    else delete panel.dataset.recovered;
    panel.querySelector('.life')!.textContent = text;
    const button = panel.querySelector<HTMLButtonElement>('button.crash');
    if (button) button.disabled = state !== 'up';
    if (state === 'crashed') this.#line('life crash', gw, `✗ ${gw}: incarnation ${incarnation} is gone (${why})`);
    if (state === 'up' && incarnation > 1) this.#line('life', gw, `↻ ${gw} ${text} (recovery-04 §5.1)`);
    this.onLife?.(gw);
  }

  wire(paused: boolean): void {
    const w = $('#wire');
    w.dataset.paused = String(paused);
    w.textContent = paused ? 'wire: PAUSED (messages wait)' : 'wire: flowing';
    $<HTMLButtonElement>('#resume').disabled = !paused;
    if (paused) this.#line('life', '', '‖ the wire is paused: messages wait until it is resumed');
  }

  session(sessionId: string, assetId: string, gateways: string[]): void {
    const row = el('tr', { 'data-session': sessionId }, el('td', {}, sessionId), el('td', {}, assetId));
    for (const gw of gateways) {
      const cell = el('td', { 'data-gw': gw }, 'running');
      this.#outcomeCells.set(`${sessionId} ${gw}`, cell);
      row.append(cell);
    }
    $('#sessions tbody').append(row);
    for (const gw of gateways) {
      const known = this.#outcomes.get(`${sessionId} ${gw}`);
      if (known) this.#outcome(sessionId, gw, known);
    }
  }

  /** Entries `gw`'s store made durable; `gw` is the store's owner, the author may be its peer (a copy). */
  entries(gw: string, entries: readonly LogEntry[]): void {
    for (const e of entries) {
      const type = typeOf(e);
      const recovery = /^recover/.test(type);
      const rollback = /^rollback/.test(type) || (e.payload as { kind?: unknown }).kind === 'rollback';
      const label = recovery || rollback ? [el('span', { class: 'badge' }, messageName(type))] : [type];
      const classes = [e.author !== gw && 'copy', recovery && 'recovery', rollback && 'rollback'].filter(Boolean);
      const author = e.author === gw ? gw : `${gw}: copy of ${e.author}'s chain`;
      const li = el(
        'li',
        {
          class: classes.join(' '),
          'data-gw': gw,
          'data-author': e.author,
          'data-step': e.step,
          'data-op': e.operation,
          'data-type': type,
        },
        el('span', {}, clock()),
        el('span', {}, author),
        el('span', {}, String(e.seqNumber)),
        el('span', {}, e.step),
        el('span', {}, e.operation),
        el('span', {}, ...label),
        el('span', {}, describeEntry(e)),
      );
      $('#timeline').append(li);
      const payload = e.payload as { kind?: unknown; outcome?: unknown };
      if (payload.kind === 'end' && e.author === gw) this.#outcome(e.sessionId, gw, String(payload.outcome));
    }
    this.onDurable?.(entries);
  }

  balances(ledgers: readonly { id: string; assets: readonly AssetRecord[] }[]): void {
    const rows = ledgers.flatMap((l) =>
      l.assets.map((a) =>
        el(
          'tr',
          { 'data-ledger': l.id, 'data-asset': a.assetId, 'data-owner': a.owner, 'data-state': a.state },
          el('td', {}, l.id),
          el('td', {}, a.assetId),
          el('td', {}, a.owner),
          el('td', {}, a.state),
        ),
      ),
    );
    $('#balances tbody').replaceChildren(...rows);
  }

  #outcome(sessionId: string, gw: string, outcome: string): void {
    this.#outcomes.set(`${sessionId} ${gw}`, outcome);
    const cell = this.#outcomeCells.get(`${sessionId} ${gw}`);
    if (!cell) return;
    cell.dataset.outcome = outcome;
    cell.textContent = outcome;
  }

  #line(classes: string, gw: string, text: string): void {
    $('#timeline').append(el('li', { class: classes, 'data-gw': gw }, el('span', {}, clock()), el('span', {}, text)));
  }
}
