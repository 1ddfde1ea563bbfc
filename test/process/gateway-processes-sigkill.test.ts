// Two real gateway processes over WebSocket in front of two ledger server processes, SIGKILLed 100+ times under Node
// at random moments (test/support/sigkill-storm.ts says what is checked afterwards). SATP_GW_KILLS sets the number of
// kills, SATP_GW_SEED replays a run's choices.
import { describeSigkillStorm } from '../support/sigkill-storm.ts';

const deno = process.env.SATP_RUNTIME === 'deno';
describeSigkillStorm({
  ledgers: 'server',
  kills: Number(process.env.SATP_GW_KILLS ?? (deno ? 15 : 100)),
  expectRollbacks: !deno,
});
