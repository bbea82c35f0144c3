// The status of one withdrawal, worked out from chain facts alone (the L2's MessagePassed log,
// the portal's proof and finalization records, the dispute game), so the list is the same after a
// reload, on another machine, or in another browser. No I/O here: `withdrawals.ts` gathers the facts.
import type { Address } from 'viem';

/** The stages a withdrawal goes through, in order; `game-lost` replaces `proven` when the challenger won. */
export type Stage = 'waiting-for-proposal' | 'ready-to-prove' | 'proven' | 'ready-to-finalize' | 'finalized' | 'game-lost';

/** Dispute game status (OP Stack GameStatus). */
export const GameStatus = { IN_PROGRESS: 0, CHALLENGER_WINS: 1, DEFENDER_WINS: 2 } as const;

export interface ProofFacts {
  submitter: Address;
  game: Address;
  /** L1 timestamp of the proof. */
  provenAt: number;
  gameStatus: number;
  /** L1 timestamp the game resolved at (0: not yet). */
  resolvedAt: number;
  /** When the game can resolve at the earliest (createdAt + challenge window). */
  expectedResolution: number;
}

export interface WithdrawalFacts {
  /** L2 block the withdrawal was initiated in. */
  l2BlockNumber: bigint;
  /** The newest proposal (game) on L1, if any. */
  latestGame: { address: Address; l2BlockNumber: bigint } | null;
  finalized: boolean;
  proof: ProofFacts | null;
  /** The portal's checkWithdrawal passed for the proof's submitter (finalizing now would succeed). */
  finalizable: boolean;
}

export interface Delays {
  /** Seconds a proof must age (strictly more than this). */
  proofMaturityDelay: number;
  /** Seconds after the game resolves (strictly more than this). */
  gameFinalityDelay: number;
}

export interface Status {
  stage: Stage;
  /** Earliest L1 time finalizing can succeed (when proven), else null. */
  finalizableAt: number | null;
  canProve: boolean;
  canFinalize: boolean;
}

export function withdrawalStatus(f: WithdrawalFacts, d: Delays): Status {
  const covered = f.latestGame !== null && f.latestGame.l2BlockNumber >= f.l2BlockNumber;
  if (f.finalized) return { stage: 'finalized', finalizableAt: null, canProve: false, canFinalize: false };
  if (f.proof) {
    if (f.proof.gameStatus === GameStatus.CHALLENGER_WINS) {
      // That proposal was wrong: the proof can never finalize. A newer proposal can carry a new proof.
      const newer = covered && f.latestGame!.address.toLowerCase() !== f.proof.game.toLowerCase();
      return { stage: 'game-lost', finalizableAt: null, canProve: newer, canFinalize: false };
    }
    if (f.finalizable) return { stage: 'ready-to-finalize', finalizableAt: null, canProve: false, canFinalize: true };
    const matured = f.proof.provenAt + d.proofMaturityDelay + 1;
    const resolved = f.proof.resolvedAt > 0 ? f.proof.resolvedAt : f.proof.expectedResolution;
    const final = resolved + d.gameFinalityDelay + 1;
    return { stage: 'proven', finalizableAt: Math.max(matured, final), canProve: false, canFinalize: false };
  }
  if (covered) return { stage: 'ready-to-prove', finalizableAt: null, canProve: true, canFinalize: false };
  return { stage: 'waiting-for-proposal', finalizableAt: null, canProve: false, canFinalize: false };
}

export type StepState = 'done' | 'current' | 'todo' | 'failed';

export interface Step {
  key: string;
  label: string;
  state: StepState;
}

const STEPS: [key: string, label: string][] = [
  ['initiated', 'Initiated on L2'],
  ['waiting-for-proposal', 'Waiting for the L2 state to be proposed on L1'],
  ['ready-to-prove', 'Ready to prove'],
  ['proven', 'Proven: challenge window'],
  ['ready-to-finalize', 'Ready to finalize'],
  ['finalized', 'Finalized: ETH on L1'],
];

/** The timeline shown for a withdrawal: every step done, current, still to come, or failed. */
export function timeline(stage: Stage): Step[] {
  const at = stage === 'game-lost' ? 3 : STEPS.findIndex(([key]) => key === stage);
  return STEPS.map(([key, label], i) => {
    let state: StepState = i < at ? 'done' : i === at ? 'current' : 'todo';
    if (stage === 'game-lost' && i === at) state = 'failed';
    if (stage === 'finalized' && i === at) state = 'done';
    return { key, label, state };
  });
}

/** Seconds left until `at` (an L1 time), never negative. */
export function secondsUntil(at: number, nowSeconds: number): number {
  return Math.max(0, Math.ceil(at - nowSeconds));
}

/** "1:05", "0:09", "1:02:03". */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A short sentence for the stage, shown under the withdrawal's amount. */
export function describeStage(status: Status, nowSeconds: number): string {
  switch (status.stage) {
    case 'waiting-for-proposal':
      return 'Waiting for the next proposal of the L2 state to L1.';
    case 'ready-to-prove':
      return 'A proposal covers this withdrawal: prove it on L1.';
    case 'proven': {
      const left = status.finalizableAt === null ? 0 : secondsUntil(status.finalizableAt, nowSeconds);
      return left > 0 ? `Proven. In the challenge window: ${formatCountdown(left)} left.` : 'Proven. The challenge window is over; waiting for L1 to confirm it.';
    }
    case 'ready-to-finalize':
      return 'The challenge window is over: finalize to receive the ETH on L1.';
    case 'finalized':
      return 'Finalized: the ETH is on L1.';
    case 'game-lost':
      return status.canProve
        ? 'The proposal this was proven against was challenged and lost: this proof cannot finalize. Prove it again against the newer proposal.'
        : 'The proposal this was proven against was challenged and lost: this proof cannot finalize. Wait for a newer proposal, then prove again.';
  }
}
