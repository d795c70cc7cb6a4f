/**
 * `verity/identity`: agent keys in encrypted keystores, fast EIP-712 digest signing, agent domains.
 *
 * @example
 * ```ts
 * import { createAgentIdentity, agentDomain } from 'verity/identity'
 * const identity = await createAgentIdentity({ home, passphrase })
 * const domain = agentDomain({ agent: identity.address })
 * ```
 */

export type { AgentDomain, AgentDomainParameters, AgentDomainReturnType } from './agent-domain.js'
export {
  AGENT_DOMAIN_TYPE,
  agentDomain,
  agentDomainSeparator,
  DEFAULT_TRACE_CHAIN_ID,
  TRACE_DOMAIN_NAME,
  TRACE_DOMAIN_VERSION,
  typedDataDigest,
} from './agent-domain.js'
export type {
  AgentIdentity,
  CreateAgentIdentityParameters,
  CreateAgentIdentityReturnType,
  LoadAgentIdentityParameters,
  LoadAgentIdentityReturnType,
  RotateAgentIdentityParameters,
  RotateAgentIdentityReturnType,
} from './agent-identity.js'
export { createAgentIdentity, loadAgentIdentity, rotateAgentIdentity } from './agent-identity.js'
export type {
  AgentSigner,
  CreateKeySignerParameters,
  CreateKeySignerReturnType,
  RecoverDigestSignerParameters,
  RecoverDigestSignerReturnType,
} from './secp256k1-signer.js'
export { checksumAddress, createKeySigner, publicKeyToAddress, recoverDigestSigner } from './secp256k1-signer.js'
