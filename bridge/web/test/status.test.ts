import type { Address } from 'viem';
import { describe, expect, test } from 'vitest';
import { type Delays, GameStatus, type ProofFacts, type WithdrawalFacts, describeStage, formatCountdown, secondsUntil, timeline, withdrawalStatus } from '../src/status';

const GAME_A: Address = '0x00000000000000000000000000000000000000aa';
const GAME_B: Address = '0x00000000000000000000000000000000000000bb';
const ME: Address = '0x0000000000000000000000000000000000000001';
const delays: Delays = { proofMaturityDelay: 8, gameFinalityDelay: 2 };

function facts(over: Partial<WithdrawalFacts> = {}): WithdrawalFacts {
  return { l2BlockNumber: 100n, latestGame: null, finalized: false, proof: null, finalizable: false, ...over };
}
const proof = (over: Partial<ProofFacts> = {}): ProofFacts => ({
  submitter: ME,
  game: GAME_A,
  provenAt: 1000,
  gameStatus: GameStatus.IN_PROGRESS,
  resolvedAt: 0,
  expectedResolution: 1004,
  ...over,
});

describe('withdrawalStatus', () => {
  test('no proposal yet, or only proposals of older L2 blocks: waiting for the proposal', () => {
    expect(withdrawalStatus(facts(), delays).stage).toBe('waiting-for-proposal');
    const older = facts({ latestGame: { address: GAME_A, l2BlockNumber: 99n } });
    expect(withdrawalStatus(older, delays)).toEqual({ stage: 'waiting-for-proposal', finalizableAt: null, canProve: false, canFinalize: false });
  });

  test('a proposal at or after the withdrawal block: ready to prove', () => {
    for (const n of [100n, 140n]) {
      const s = withdrawalStatus(facts({ latestGame: { address: GAME_A, l2BlockNumber: n } }), delays);
      expect(s).toEqual({ stage: 'ready-to-prove', finalizableAt: null, canProve: true, canFinalize: false });
    }
  });

  test('proven, game in progress: in the challenge window until maturity and finality both pass', () => {
    const latestGame = { address: GAME_A, l2BlockNumber: 120n };
    // Resolution expected at 1004, final after 1004 + 2 (strictly): 1007; mature after 1000 + 8: 1009.
    const s = withdrawalStatus(facts({ latestGame, proof: proof() }), delays);
    expect(s).toEqual({ stage: 'proven', finalizableAt: 1009, canProve: false, canFinalize: false });
    // A game resolved late pushes it out: resolved at 1010, final after 1012: 1013.
    const late = withdrawalStatus(facts({ latestGame, proof: proof({ gameStatus: GameStatus.DEFENDER_WINS, resolvedAt: 1010 }) }), delays);
    expect(late.finalizableAt).toBe(1013);
    expect(late.stage).toBe('proven');
  });

  test('the portal says it can finalize: ready to finalize', () => {
    const s = withdrawalStatus(facts({ proof: proof({ gameStatus: GameStatus.DEFENDER_WINS, resolvedAt: 1004 }), finalizable: true }), delays);
    expect(s).toEqual({ stage: 'ready-to-finalize', finalizableAt: null, canProve: false, canFinalize: true });
  });

  test('finalized wins over everything else', () => {
    const s = withdrawalStatus(facts({ finalized: true, proof: proof(), finalizable: true }), delays);
    expect(s).toEqual({ stage: 'finalized', finalizableAt: null, canProve: false, canFinalize: false });
  });

  test('the game was lost: cannot finalize; prove again only against a newer proposal', () => {
    const lost = proof({ gameStatus: GameStatus.CHALLENGER_WINS, resolvedAt: 1004 });
    const same = withdrawalStatus(facts({ proof: lost, latestGame: { address: GAME_A, l2BlockNumber: 120n } }), delays);
    expect(same).toEqual({ stage: 'game-lost', finalizableAt: null, canProve: false, canFinalize: false });
    const newer = withdrawalStatus(facts({ proof: lost, latestGame: { address: GAME_B, l2BlockNumber: 140n } }), delays);
    expect(newer).toEqual({ stage: 'game-lost', finalizableAt: null, canProve: true, canFinalize: false });
    // Even if a stale checkWithdrawal reading said finalizable, a lost game never offers finalize.
    expect(withdrawalStatus(facts({ proof: lost, finalizable: true }), delays).canFinalize).toBe(false);
  });
});

describe('timeline', () => {
  const states = (stage: Parameters<typeof timeline>[0]) => timeline(stage).map((s) => s.state);
  test('each stage marks the steps before it done and itself current', () => {
    expect(states('waiting-for-proposal')).toEqual(['done', 'current', 'todo', 'todo', 'todo', 'todo']);
    expect(states('ready-to-prove')).toEqual(['done', 'done', 'current', 'todo', 'todo', 'todo']);
    expect(states('proven')).toEqual(['done', 'done', 'done', 'current', 'todo', 'todo']);
    expect(states('ready-to-finalize')).toEqual(['done', 'done', 'done', 'done', 'current', 'todo']);
    expect(states('finalized')).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
  });
  test('a lost game fails the proven step', () => {
    expect(states('game-lost')).toEqual(['done', 'done', 'done', 'failed', 'todo', 'todo']);
  });
});

describe('countdown', () => {
  test('seconds until a time, never negative, rounded up', () => {
    expect(secondsUntil(1009, 1000)).toBe(9);
    expect(secondsUntil(1009, 1008.2)).toBe(1);
    expect(secondsUntil(1009, 1020)).toBe(0);
  });
  test('formats minutes and hours', () => {
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(9)).toBe('0:09');
    expect(formatCountdown(65)).toBe('1:05');
    expect(formatCountdown(3723)).toBe('1:02:03');
    expect(formatCountdown(7 * 24 * 3600)).toBe('168:00:00');
  });
  test('describes the challenge window with the time left, and its end', () => {
    const s = { stage: 'proven' as const, finalizableAt: 1009, canProve: false, canFinalize: false };
    expect(describeStage(s, 1000)).toBe('Proven. In the challenge window: 0:09 left.');
    expect(describeStage(s, 1010)).toMatch(/challenge window is over; waiting for L1/);
    expect(describeStage({ stage: 'game-lost', finalizableAt: null, canProve: false, canFinalize: false }, 0)).toMatch(/challenged and lost: this proof cannot finalize/);
  });
});
