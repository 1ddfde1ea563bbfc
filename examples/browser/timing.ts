// The protocol timings of every gateway in the browser demo (kernel/satp/effects.ts gatewayConfig). Slow motion
// delays each message by up to a second, so a resend comes only after a round trip at that pace; and a person may
// keep the wire paused for minutes, so the lock the transfers ask for is long (the page asks for 300 s).
import type { GatewayConfig } from '../../kernel/satp/effects.ts';

export const DEMO_TIMING: Partial<Pick<GatewayConfig, 'retransmitMs' | 'deadlineGraceMs' | 'burnMarginMs'>> = {
  retransmitMs: 2_500,
};

export const DEMO_LOCK_SECONDS = 300;
