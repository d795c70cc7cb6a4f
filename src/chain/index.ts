/**
 * `verity/chain`: Verity on an EVM chain. EZKL Halo2 verifiers rendered by the pinned toolchain and compiled with
 * solc-js, on-chain verification of receipts, and the contracts in `contracts/`: RiskGate (act on a proven output),
 * TraceAnchor (anchored trace checkpoints), ModelRegistry (model releases) and ProverMarket (paid proving jobs).
 * Ethers v6 stays behind these functions; any JSON-RPC URL works, and Hardhat's in-process chain is the dev default.
 *
 * @example
 * ```ts
 * import { connectChain, deployVerifier, verifyOnChain } from 'verity/chain'
 * const client = await connectChain({ rpc: 'http://127.0.0.1:8545', privateKey })
 * const { verifier } = await deployVerifier({ client, package: model })
 * const { valid, gas } = await verifyOnChain({ client, verifier, proof, receipt })
 * ```
 */
export type { ChainClient, ConnectChainParameters, ConnectChainReturnType, TransactionResult } from './chain-client.js'
export { chainErrorFrom, connectChain, sendTransaction } from './chain-client.js'
export type {
  DeployVerifierParameters,
  EvmVerifierDeployment,
  RenderEvmVerifierParameters,
  RenderedEvmVerifier,
} from './evm-verifier.js'
export { compileEvmVerifier, deployVerifier, renderEvmVerifier } from './evm-verifier.js'
export type { ModelRelease, RegisteredModelVersion } from './model-registry.js'
export { digestToBytes32, getModelVersion, registerModel, setModelDelegate } from './model-registry.js'
export type { ProvingJob } from './prover-market.js'
export { instancesHash, postProvingJob, refundProvingJob, submitProof, withdrawPayment } from './prover-market.js'
export type {
  ModelRegistryEntry,
  ModelReleaseRegistry,
  OpenReleaseRegistryParameters,
  OpenReleaseRegistryReturnType,
} from './release-registry.js'
export { openReleaseRegistry } from './release-registry.js'
export { fixedPoint, releasePayment, requestPayment } from './risk-gate.js'
export type { CompiledContract, CompileSolidityParameters, CompileSolidityReturnType } from './solidity-compiler.js'
export { compileSolidity, EVM_VERSION } from './solidity-compiler.js'
export type {
  AnchorableCheckpoint,
  AnchorCheckpointParameters,
  AnchoredBatch,
  AnchoredCheckpoint,
  AnchoredTraceStatus,
  VerifyAnchoredTraceReturnType,
} from './trace-anchor.js'
export {
  anchorCheckpoint,
  anchorCheckpointBatch,
  batchLeaf,
  latestCheckpoint,
  readAnchoredCheckpoint,
  verifyAnchoredTrace,
  verifyBatchInclusion,
} from './trace-anchor.js'
export type {
  CheckTraceAnchorRecordParameters,
  CheckTraceAnchorRecordReturnType,
  RecordTraceAnchorParameters,
  TraceAnchorRecord,
} from './trace-anchor-record.js'
export {
  checkTraceAnchorRecord,
  readTraceAnchorRecords,
  recordTraceAnchor,
  TRACE_ANCHORS_FORMAT,
  traceAnchorRecordPath,
  traceAnchorRecordSchema,
} from './trace-anchor-record.js'
export type { ProofCalldata, VerifyOnChainParameters, VerifyOnChainReturnType } from './verify-on-chain.js'
export { encodeVerifierCalldata, HALO2_VERIFIER_ABI, proofCalldata, verifyOnChain } from './verify-on-chain.js'
export type { DeployedContract, VerityContractName } from './verity-contracts.js'
export {
  attachVerityContract,
  contractsDirectory,
  deployCompiled,
  deployVerityContract,
  verityContract,
} from './verity-contracts.js'
