import { describe, expect, test } from 'vitest';
import { BaseError, ChainMismatchError, ContractFunctionRevertedError, HttpRequestError, InsufficientFundsError, TimeoutError, UserRejectedRequestError, parseAbi, stringToHex } from 'viem';
import { friendlyError } from '../src/errors';

const ctx = { action: 'deposit', l1Url: 'http://127.0.0.1:8545', l2Url: 'http://127.0.0.1:9545' };
const wrapped = (cause: Error) => new BaseError('outer', { cause });

describe('friendlyError', () => {
  test('a rejected request, from viem or as a raw EIP-1193 error', () => {
    expect(friendlyError(new UserRejectedRequestError(new Error('no')), ctx)).toBe('You rejected the deposit in your wallet; nothing was sent.');
    expect(friendlyError(wrapped(new UserRejectedRequestError(new Error('no'))), ctx)).toMatch(/^You rejected the deposit/);
    expect(friendlyError({ code: 4001, message: 'User rejected the request.' }, ctx)).toMatch(/^You rejected the deposit/);
  });

  test('the wrong network', () => {
    const e = new ChainMismatchError({ chain: { id: 900, name: 'Devnet L1 (900)' } as never, currentChainId: 1 });
    expect(friendlyError(e, ctx)).toMatch(/^Wrong network: .*900.* Switch your wallet/);
  });

  test('too small a balance', () => {
    expect(friendlyError(new InsufficientFundsError(), ctx)).toBe('Balance too small to pay for the deposit and its gas.');
    expect(friendlyError(new Error('insufficient funds for gas * price + value'), ctx)).toBe('Balance too small to pay for the deposit and its gas.');
  });

  test('an RPC that is down names which one', () => {
    const l1 = new HttpRequestError({ url: ctx.l1Url, details: 'fetch failed' });
    expect(friendlyError(wrapped(l1), ctx)).toBe('The L1 RPC at http://127.0.0.1:8545 is not answering, so the deposit could not be sent. Is the devnet running?');
    const l2 = new HttpRequestError({ url: ctx.l2Url, details: 'fetch failed' });
    expect(friendlyError(l2, { ...ctx, action: 'withdrawal' })).toMatch(/^The L2 RPC at http:\/\/127\.0\.0\.1:9545 is not answering, so the withdrawal/);
    expect(friendlyError(new TimeoutError({ body: {}, url: ctx.l1Url }), ctx)).toMatch(/RPC .* is not answering/);
  });

  test('bridge reverts by name, including a lost game', () => {
    const abi = parseAbi(['error OptimismPortal_ProofNotOldEnough()', 'error InvalidDisputeGame()', 'error Mystery()']);
    const revert = (name: string) =>
      new ContractFunctionRevertedError({ abi, functionName: 'f', data: stringToHex(name) });
    const named = (errorName: string) => Object.assign(revert(errorName), { data: { errorName, abiItem: {}, args: [] } });
    expect(friendlyError(wrapped(named('OptimismPortal_ProofNotOldEnough')), { ...ctx, action: 'finalization' })).toMatch(/challenge window is not over/);
    expect(friendlyError(named('InvalidDisputeGame'), { ...ctx, action: 'proof' })).toMatch(/challenged and lost/);
    expect(friendlyError(named('Mystery'), { ...ctx, action: 'proof' })).toBe('The proof was refused on chain: Mystery.');
  });

  test('anything else keeps viem’s short message', () => {
    expect(friendlyError(new BaseError('Something odd.'), ctx)).toBe('The deposit failed: Something odd.');
    expect(friendlyError(new Error('boom'), ctx)).toBe('The deposit failed: boom');
  });
});
