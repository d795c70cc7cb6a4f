import type { Contract } from 'ethers'
import { sendTransaction, type TransactionResult } from './chain-client.js'
import { proofCalldata } from './verify-on-chain.js'

/**
 * A float threshold as the fixed-point integer `RiskGate` compares with: `round(value * 2^scale)`.
 *
 * @example
 * ```ts
 * fixedPoint(0.5, 7) // 64n
 * ```
 */
export function fixedPoint(value: number, scale: number): bigint {
  return BigInt(Math.round(value * 2 ** scale))
}

/**
 * Escrows a payment in a `RiskGate`; it is released later by {@link releasePayment} with a proof of low risk.
 *
 * @example
 * ```ts
 * const { id } = await requestPayment({ gate, to: merchant, value: parseEther('1') })
 * ```
 */
export async function requestPayment(parameters: {
  gate: Contract
  to: string
  value: bigint
}): Promise<TransactionResult & { id: bigint }> {
  const { gate } = parameters
  const id = (await gate.getFunction('request').staticCall(parameters.to, { value: parameters.value })) as bigint
  const result = await sendTransaction(
    () => gate.getFunction('request')(parameters.to, { value: parameters.value }),
    gate.interface,
    'Requesting a payment',
  )
  return { ...result, id }
}

/**
 * Releases an escrowed payment with a transaction-risk proof: the gate verifies it through the model's verifier
 * and reads the risk from the proof's public instances. Reverts (`risk above threshold`, `invalid proof`, `proof
 * already used`) become ChainErrors.
 *
 * @example
 * ```ts
 * await releasePayment({ gate, id, proof })
 * ```
 */
export async function releasePayment(parameters: { gate: Contract; id: bigint; proof: Uint8Array }): Promise<TransactionResult> {
  const { gate } = parameters
  const calldata = proofCalldata(parameters.proof)
  return sendTransaction(
    () => gate.getFunction('release')(parameters.id, calldata.proof, calldata.instances),
    gate.interface,
    'Releasing the payment',
  )
}
