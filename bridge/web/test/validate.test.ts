import { describe, expect, test } from 'vitest';
import { parseEther } from 'viem';
import { checkAmount, formatEth } from '../src/validate';

const ctx = { balance: parseEther('2'), feeReserve: parseEther('0.01'), chainName: 'Devnet L1 (900)' };
const error = (input: string, c = ctx) => {
  const r = checkAmount(input, c);
  return r.ok ? null : r.error;
};

describe('checkAmount', () => {
  test('accepts plain decimal amounts', () => {
    expect(checkAmount('1.5', ctx)).toEqual({ ok: true, wei: parseEther('1.5') });
    expect(checkAmount(' 0.25 ', ctx)).toEqual({ ok: true, wei: parseEther('0.25') });
    expect(checkAmount('.5', ctx)).toEqual({ ok: true, wei: parseEther('0.5') });
    expect(checkAmount('1.', ctx)).toEqual({ ok: true, wei: parseEther('1') });
    expect(checkAmount('0.000000000000000001', ctx)).toEqual({ ok: true, wei: 1n });
  });

  test('refuses empty, malformed, zero and over-precise input', () => {
    expect(error('')).toBe('Enter an amount of ETH.');
    expect(error('   ')).toBe('Enter an amount of ETH.');
    for (const bad of ['abc', '1.2.3', '-1', '1e18', '0x10', '1,5', '.', '∞']) {
      expect(error(bad)).toMatch(/is not an amount/);
    }
    expect(error('0')).toBe('The amount must be more than zero.');
    expect(error('0.000')).toBe('The amount must be more than zero.');
    expect(error('0.0000000000000000001')).toBe('ETH has at most 18 decimals.');
  });

  test('refuses more than the balance less the fee, and says how much is there', () => {
    expect(error('1.99')).toBeNull();
    expect(error('1.990000000000000001')).toMatch(/^Balance too small: 2\.000000000000000001 ETH is needed on Devnet L1 \(900\) \(the amount plus about 0\.01 ETH in fees\), and the account holds 2 ETH\.$/);
    expect(error('3', { ...ctx, feeReserve: 0n })).toBe('Balance too small: the account holds 2 ETH on Devnet L1 (900).');
  });

  test('an unknown balance is not checked (the chain will refuse it)', () => {
    expect(checkAmount('1000', { ...ctx, balance: null }).ok).toBe(true);
  });
});

describe('formatEth', () => {
  test('at most six decimals, no trailing zeros, tiny amounts shown as such', () => {
    expect(formatEth(parseEther('10000'))).toBe('10000');
    expect(formatEth(parseEther('10001.5'))).toBe('10001.5');
    expect(formatEth(parseEther('1.1234567'))).toBe('1.123456');
    expect(formatEth(1n)).toBe('<0.000001');
    expect(formatEth(0n)).toBe('0');
    expect(formatEth(-parseEther('0.5'))).toBe('-0.5');
  });
});
