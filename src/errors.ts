/**
 * Verity's errors: one base class, {@link VerityError}, and a typed subclass per failure
 * that a caller may want to tell apart. Every error carries a short message, optional
 * details, a hint that says what to do, a docs path and the underlying cause.
 *
 * This file imports nothing: every other room may depend on it.
 *
 * @example
 * ```ts
 * try {
 *   await openVault({ path, guards: [passphraseGuard({ passphrase })] })
 * } catch (error) {
 *   if (error instanceof WrongKeyError) console.error(error.hint)
 * }
 * ```
 */

/** Parameters every {@link VerityError} takes besides its short message. */
export type VerityErrorParameters = {
  /** Longer, technical description of what went wrong (file, offset, field...). */
  details?: string | undefined
  /** What the user can do about it. */
  hint?: string | undefined
  /** Path under `docs/` that explains the concept. */
  docsPath?: string | undefined
  /** The error that caused this one. */
  cause?: unknown
  /** Structured, machine-readable facts about the failure (never secrets). */
  meta?: Record<string, unknown> | undefined
}

/**
 * The base of every error Verity throws on purpose.
 *
 * @example
 * ```ts
 * throw new VerityError('Something failed', { hint: 'Try again with --json for details' })
 * ```
 */
export class VerityError extends Error {
  override name = 'VerityError'
  /** Stable machine-readable code, e.g. `VERITY_INVALID_INPUT`. */
  readonly code: string = 'VERITY_ERROR'
  /** The message without details and hint. */
  readonly shortMessage: string
  readonly details: string | undefined
  readonly hint: string | undefined
  readonly docsPath: string | undefined
  readonly meta: Record<string, unknown> | undefined

  constructor(shortMessage: string, parameters: VerityErrorParameters = {}) {
    const lines = [shortMessage]
    if (parameters.details) lines.push('', `Details: ${parameters.details}`)
    if (parameters.hint) lines.push(`Hint: ${parameters.hint}`)
    if (parameters.docsPath) lines.push(`Docs: docs/${parameters.docsPath}`)
    super(lines.join('\n'), parameters.cause === undefined ? undefined : { cause: parameters.cause })
    this.shortMessage = shortMessage
    this.details = parameters.details
    this.hint = parameters.hint
    this.docsPath = parameters.docsPath
    this.meta = parameters.meta
  }

  /**
   * Walks the `cause` chain. Without a predicate it returns the deepest cause; with one,
   * the first error in the chain (this one included) for which it returns true.
   *
   * @example
   * ```ts
   * const root = error.walk()
   * const io = error.walk((e) => (e as NodeJS.ErrnoException).code === 'ENOSPC')
   * ```
   */
  walk(predicate?: (error: unknown) => boolean): unknown {
    let current: unknown = this
    const seen = new Set<unknown>()
    while (current !== undefined && current !== null && !seen.has(current)) {
      seen.add(current)
      if (predicate?.(current)) return current
      const next = (current as { cause?: unknown }).cause
      if (next === undefined || next === null) return predicate ? undefined : current
      current = next
    }
    return predicate ? undefined : current
  }

  /** A JSON-safe view for `--json` output and logs (no stack, no secrets). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      shortMessage: this.shortMessage,
      details: this.details,
      hint: this.hint,
      docsPath: this.docsPath,
      meta: this.meta,
    }
  }
}

function defineError(name: string, code: string) {
  return class extends VerityError {
    override name = name
    override readonly code: string = code
  }
}

// ---------------------------------------------------------------------------------------
// General
// ---------------------------------------------------------------------------------------

/** Input at a public entry point failed validation (usually a zod schema). */
export class InvalidInputError extends defineError('InvalidInputError', 'VERITY_INVALID_INPUT') {}
/** Something that should exist does not (a file, a record, a package...). */
export class NotFoundError extends defineError('NotFoundError', 'VERITY_NOT_FOUND') {}
/** The operation is not allowed in the object's current state (e.g. a closed vault). */
export class InvalidStateError extends defineError('InvalidStateError', 'VERITY_INVALID_STATE') {}
/** An operation was aborted through an `AbortSignal` or timed out. */
export class AbortedError extends defineError('AbortedError', 'VERITY_ABORTED') {}
/** A file system or other I/O operation failed. */
export class StorageError extends defineError('StorageError', 'VERITY_STORAGE') {}

// ---------------------------------------------------------------------------------------
// Crypto and integrity
// ---------------------------------------------------------------------------------------

/** Authenticated decryption failed or a digest/signature does not match: data was changed. */
export class IntegrityError extends defineError('IntegrityError', 'VERITY_INTEGRITY') {}
/** Data ends before its format says it should (a truncated file, segment or proof). */
export class TruncatedDataError extends defineError('TruncatedDataError', 'VERITY_TRUNCATED') {}
/** A format or version this build does not understand (foreign file, newer version). */
export class UnsupportedFormatError extends defineError('UnsupportedFormatError', 'VERITY_UNSUPPORTED_FORMAT') {}

// ---------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------

/** The key offered (passphrase, wallet, session) does not unwrap any guard stanza. */
export class WrongKeyError extends defineError('WrongKeyError', 'VERITY_WRONG_KEY') {}
/** An access policy refused to release a key (conditions not met, revoked, expired auth). */
export class AccessDeniedError extends defineError('AccessDeniedError', 'VERITY_ACCESS_DENIED') {}
/** A remote service (Lit nodes, an EVM endpoint, Redis) could not be reached or answered badly. */
export class NetworkError extends defineError('NetworkError', 'VERITY_NETWORK') {}

// ---------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------

/** The vault is locked by another writer. */
export class VaultLockedError extends defineError('VaultLockedError', 'VERITY_VAULT_LOCKED') {}
/** An embedding's id or dimension differs from what the vault records. */
export class EmbedderMismatchError extends defineError('EmbedderMismatchError', 'VERITY_EMBEDDER_MISMATCH') {}
// vault room (issue 10): rollback and writer-key checks
/**
 * A vault's commit is older than one this machine has already seen (a rolled-back `vault.json`), or
 * its key epoch went backwards; `meta.seenSequence` / `meta.foundSequence` name both.
 */
export class VaultRollbackError extends defineError('VaultRollbackError', 'VERITY_VAULT_ROLLBACK') {}
/** A vault's writer key differs from the one this machine pinned for it (`meta.pinned` / `meta.found`). */
export class VaultWriterChangedError extends defineError('VaultWriterChangedError', 'VERITY_VAULT_WRITER_CHANGED') {}

// ---------------------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------------------

/** The EZKL toolchain is missing, the wrong version, or failed. */
export class ToolchainError extends defineError('ToolchainError', 'VERITY_TOOLCHAIN') {}
/** A model package is malformed or its files do not match their digests. */
export class ModelPackageError extends defineError('ModelPackageError', 'VERITY_MODEL_PACKAGE') {}
/** Proving or verifying a proof failed, or a proof does not verify. */
export class ProofError extends defineError('ProofError', 'VERITY_PROOF') {}
/** The prover pool's queue is full (back-pressure) or the pool is closed. */
export class ProverBusyError extends defineError('ProverBusyError', 'VERITY_PROVER_BUSY') {}

// ---------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------

/** A trace failed verification; `meta.seq` names the first failing entry. */
export class TraceVerificationError extends defineError('TraceVerificationError', 'VERITY_TRACE_VERIFICATION') {}
/** A trace file is being appended by another writer (its `.lock` is held by a live process). */
export class TraceLockedError extends defineError('TraceLockedError', 'VERITY_TRACE_LOCKED') {}

// ---------------------------------------------------------------------------------------
// Agent and plugins
// ---------------------------------------------------------------------------------------

/** A plugin asked for a permission the host did not grant, or broke the plugin contract. */
export class PluginPermissionError extends defineError('PluginPermissionError', 'VERITY_PLUGIN_PERMISSION') {}
/** A policy refused an action (e.g. acting on an unverified receipt). */
export class PolicyError extends defineError('PolicyError', 'VERITY_POLICY') {}
/** A user's agent script (`verity agent run`) could not be loaded or threw a non-Verity error. */
export class AgentScriptError extends defineError('AgentScriptError', 'VERITY_AGENT_SCRIPT') {}

// ---------------------------------------------------------------------------------------
// Hub (src/hub): content-addressed packages, signed releases
// ---------------------------------------------------------------------------------------

/** A block whose bytes do not hash to its CID, a block missing from a package's DAG, or a CID Verity refuses. */
export class BlockIntegrityError extends defineError('BlockIntegrityError', 'VERITY_BLOCK_INTEGRITY') {}
/** A release whose signature, publisher, name scope, version order or parent chain does not hold. */
export class ReleaseVerificationError extends defineError('ReleaseVerificationError', 'VERITY_RELEASE_VERIFICATION') {}

// ---------------------------------------------------------------------------------------
// Prover backends and fleet (room: proofs, issue 12)
// ---------------------------------------------------------------------------------------

/** A prover worker process died while it held a job (the worker is restarted; retry the job). */
export class ProverCrashedError extends defineError('ProverCrashedError', 'VERITY_PROVER_CRASHED') {}
/** A prover-fleet job was refused or dead-lettered (malformed, wrong package, out of attempts). */
export class ProverJobError extends defineError('ProverJobError', 'VERITY_PROVER_JOB') {}

/**
 * True when `value` is a {@link VerityError} (works across module copies by checking the code).
 *
 * @example
 * ```ts
 * if (isVerityError(error)) process.exitCode = 1
 * ```
 */
export function isVerityError(value: unknown): value is VerityError {
  return (
    value instanceof VerityError ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { code?: unknown }).code === 'string' &&
      String((value as { code: string }).code).startsWith('VERITY_') &&
      typeof (value as { shortMessage?: unknown }).shortMessage === 'string')
  )
}

// ---------------------------------------------------------------------------------------
// Chain (src/chain, contracts/)
// ---------------------------------------------------------------------------------------

/** A chain call failed: the RPC is unreachable, a transaction reverted (reason decoded in `meta.reason`), or a contract is missing. */
export class ChainError extends defineError('ChainError', 'VERITY_CHAIN') {}

/** Solidity sources did not compile (solc's messages in `details`). */
export class SolidityCompileError extends defineError('SolidityCompileError', 'VERITY_SOLIDITY_COMPILE') {}

// ---------------------------------------------------------------------------------------
// Daemon (src/daemon): HTTP API auth and limits
// ---------------------------------------------------------------------------------------

/** A daemon request carried no valid credential (missing, unknown, expired or revoked token or session). */
export class UnauthenticatedError extends defineError('UnauthenticatedError', 'VERITY_UNAUTHENTICATED') {}
/** A daemon credential was used more often than its rate limit allows. */
export class RateLimitedError extends defineError('RateLimitedError', 'VERITY_RATE_LIMITED') {}
/** A daemon request body is larger than the configured limit. */
export class PayloadTooLargeError extends defineError('PayloadTooLargeError', 'VERITY_PAYLOAD_TOO_LARGE') {}

// --- langchain room (issue 11): a named chat model whose provider package is missing or unknown ---
/** `--model provider:model` names a provider that is unknown or whose LangChain package is not installed. */
export class ModelProviderError extends defineError('ModelProviderError', 'VERITY_MODEL_PROVIDER') {}

// --- hub <-> chain registry (issue 13 item 6): a registry entry and the signed release it names disagree ---
/** A release registry's entry (e.g. on-chain `ModelRegistry`) and the signed release it resolves to disagree (fields in `meta.fields`). */
export class RegistryMismatchError extends defineError('RegistryMismatchError', 'VERITY_REGISTRY_MISMATCH') {}

// --- embedder room (issue 11 item 8): an embedder named by a spec or `--embedder` that cannot be loaded ---
/** An embedder spec names a package, export or model folder that is not installed or cannot be loaded (`meta.spec`). */
export class EmbedderUnavailableError extends defineError('EmbedderUnavailableError', 'VERITY_EMBEDDER_UNAVAILABLE') {}
