// Amount input: what a person typed, checked before anything is signed.
import { formatEther, parseEther } from 'viem';

export type AmountCheck = { ok: true; wei: bigint } | { ok: false; error: string };

export interface AmountContext {
  /** The sending account's balance on the chain the transaction is sent on; null if unknown. */
  balance: bigint | null;
  /** Wei to keep for the transaction's fee (the fee estimate). */
  feeReserve: bigint;
  /** Where the balance is, for messages ("L1", "L2"). */
  chainName: string;
}

const NUMBER = /^(\d+\.?\d*|\.\d+)$/;

/** Checks an ETH amount typed by a person against the balance and the fee. */
export function checkAmount(input: string, ctx: AmountContext): AmountCheck {
  const text = input.trim();
  if (text === '') return { ok: false, error: 'Enter an amount of ETH.' };
  if (!NUMBER.test(text)) return { ok: false, error: `"${input.trim()}" is not an amount: use digits and one dot, like 0.5.` };
  const decimals = text.includes('.') ? text.split('.')[1]!.length : 0;
  if (decimals > 18) return { ok: false, error: 'ETH has at most 18 decimals.' };
  const wei = parseEther(text);
  if (wei === 0n) return { ok: false, error: 'The amount must be more than zero.' };
  if (ctx.balance !== null && wei + ctx.feeReserve > ctx.balance) {
    const need = formatEther(wei + ctx.feeReserve);
    const have = formatEther(ctx.balance);
    return {
      ok: false,
      error:
        ctx.feeReserve > 0n
          ? `Balance too small: ${need} ETH is needed on ${ctx.chainName} (the amount plus about ${formatEther(ctx.feeReserve)} ETH in fees), and the account holds ${have} ETH.`
          : `Balance too small: the account holds ${have} ETH on ${ctx.chainName}.`,
    };
  }
  return { ok: true, wei };
}

/** A balance for display: at most `digits` decimals, trailing zeros dropped. */
export function formatEth(wei: bigint, digits = 6): string {
  const negative = wei < 0n;
  const abs = negative ? -wei : wei;
  const [whole, frac = ''] = formatEther(abs).split('.');
  const cut = frac.slice(0, digits).replace(/0+$/, '');
  const shown = cut ? `${whole}.${cut}` : whole!;
  const tiny = abs > 0n && shown === '0';
  return `${negative ? '-' : ''}${tiny ? `<0.${'0'.repeat(digits - 1)}1` : shown}`;
}
