// Errors as a person should read them: what went wrong and what to do, never a stack of RPC jargon.
import {
  BaseError,
  ChainMismatchError,
  ContractFunctionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  TimeoutError,
  UserRejectedRequestError,
} from 'viem';

/** Revert names of the bridge contracts, as a person should read them. */
const REVERTS: Record<string, string> = {
  OptimismPortal_AlreadyFinalized: 'This withdrawal is already finalized.',
  OptimismPortal_Unproven: 'This withdrawal has not been proven by this account yet.',
  OptimismPortal_ProofNotOldEnough: 'The challenge window is not over yet: try again when the countdown ends.',
  OptimismPortal_InvalidRootClaim: 'The proposal this withdrawal was proven against is not final yet, or it was challenged and lost.',
  InvalidDisputeGame: 'The proposal was challenged and lost: prove the withdrawal again against a newer proposal.',
  InvalidGameType: 'That proposal is not of the type the portal accepts.',
  InvalidProof: 'The withdrawal proof does not match the proposal.',
  InvalidMerkleProof: 'The withdrawal proof does not match the proposal.',
  CallFailed: 'The withdrawal’s L1 recipient refused the ETH; it stays in the portal and can be finalized again later.',
  SmallGasLimit: 'The deposit’s L2 gas limit is too small.',
  OptimismPortal_GasLimitTooHigh: 'The deposit’s L2 gas limit is too large.',
};

export interface ErrorContext {
  /** What the person was doing: "deposit", "withdrawal", "proof", "finalization", ... */
  action: string;
  /** RPC URLs, named in "is not answering" messages. */
  l1Url?: string;
  l2Url?: string;
}

/** Walks an error's causes (viem's `walk`, plain `cause` chains, EIP-1193 `{code}` objects). */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = error;
  for (let i = 0; e && i < 10; i++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

function codeOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** One sentence for an error thrown while doing `ctx.action`. */
export function friendlyError(error: unknown, ctx: ErrorContext): string {
  const chain = causes(error);
  if (chain.some((e) => e instanceof UserRejectedRequestError || codeOf(e) === 4001)) {
    return `You rejected the ${ctx.action} in your wallet; nothing was sent.`;
  }
  const mismatch = chain.find((e) => e instanceof ChainMismatchError) as ChainMismatchError | undefined;
  if (mismatch) {
    return `Wrong network: ${mismatch.shortMessage} Switch your wallet to the network named, then try again.`;
  }
  if (chain.some((e) => e instanceof InsufficientFundsError) || /insufficient funds/i.test(messageOf(error))) {
    return `Balance too small to pay for the ${ctx.action} and its gas.`;
  }
  const reverted = chain.find((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | undefined;
  const revertName = reverted?.data?.errorName;
  if (revertName && REVERTS[revertName]) return REVERTS[revertName]!;
  const down = chain.find((e) => e instanceof HttpRequestError || e instanceof TimeoutError) as HttpRequestError | TimeoutError | undefined;
  if (down) {
    const url = down.url ?? '';
    const which = url && url === ctx.l1Url ? 'The L1' : url && url === ctx.l2Url ? 'The L2' : 'The';
    const where = url ? ` at ${url}` : '';
    return `${which} RPC${where} is not answering, so the ${ctx.action} could not be sent. Is the devnet running?`;
  }
  if (revertName) return `The ${ctx.action} was refused on chain: ${revertName}.`;
  if (error instanceof BaseError) return `The ${ctx.action} failed: ${error.shortMessage}`;
  return `The ${ctx.action} failed: ${messageOf(error)}`;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown })?.message;
  return typeof message === 'string' ? message : String(error);
}
