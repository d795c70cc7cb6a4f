import { CID } from 'multiformats/cid'
import { constantTimeEqual } from '../crypto/bytes.js'
import { sha256 } from '../crypto/digest.js'
import { sha256Parallel } from '../crypto/sha256-parallel.js'
import { BlockIntegrityError } from '../errors.js'
import { DAG_PB_CODE, RAW_CODE, SHA2_256_CODE } from './unixfs-settings.js'

/**
 * The one check every block goes through when it enters Verity from anywhere (disk, CAR, HTTP):
 * its CID names a codec Verity walks (dag-pb or raw) and a sha2-256 multihash, and its bytes hash
 * to that multihash. Identity hashes and other codecs are refused: they would let a peer inline
 * arbitrary bytes under a CID that "verifies" trivially.
 */

export type CheckBlockParameters = {
  cid: CID
  bytes: Uint8Array
  /** Where the block came from, for the error (a URL, a file). */
  source?: string | undefined
}

/**
 * Throws {@link BlockIntegrityError} unless `bytes` are the block `cid` names.
 *
 * @example
 * ```ts
 * checkBlock({ cid, bytes, source: 'https://gateway.example/ipfs/…' })
 * ```
 */
export function checkBlock(parameters: CheckBlockParameters): void {
  assertSupportedCid(parameters.cid)
  assertDigest(parameters, sha256(parameters.bytes))
}

/**
 * {@link checkBlock} with the hash of a large block on a worker thread ({@link sha256Parallel}):
 * for the bulk paths (export, pull, CAR import), so checking overlaps reading and writing.
 *
 * @example
 * ```ts
 * await checkBlockParallel({ cid, bytes, source: packFile })
 * ```
 */
export async function checkBlockParallel(parameters: CheckBlockParameters): Promise<void> {
  assertSupportedCid(parameters.cid)
  assertDigest(parameters, await sha256Parallel(parameters.bytes))
}

function assertDigest(parameters: CheckBlockParameters, actual: Uint8Array): void {
  const { cid, bytes, source } = parameters
  if (!constantTimeEqual(actual, cid.multihash.digest))
    throw new BlockIntegrityError('Block does not match its CID', {
      details: `${cid.toString()}${source ? ` from ${source}` : ''}: sha2-256 of the ${bytes.length} bytes differs`,
      hint: 'The block was tampered with or substituted; nothing from this source was installed.',
      docsPath: 'hub.md',
      meta: { cid: cid.toString(), source },
    })
}

/**
 * Throws {@link BlockIntegrityError} unless the CID is CIDv1 (or v0) with sha2-256 and codec dag-pb or raw.
 *
 * @example
 * ```ts
 * assertSupportedCid(CID.parse('bafkrei…'))
 * ```
 */
export function assertSupportedCid(cid: CID): void {
  if (cid.multihash.code !== SHA2_256_CODE || cid.multihash.digest.length !== 32)
    throw new BlockIntegrityError('Unsupported hash in CID', {
      details: `${cid.toString()} uses multihash 0x${cid.multihash.code.toString(16)}`,
      hint: 'Verity accepts sha2-256 CIDs only.',
      docsPath: 'hub.md',
    })
  if (cid.code !== DAG_PB_CODE && cid.code !== RAW_CODE)
    throw new BlockIntegrityError('Unsupported codec in CID', {
      details: `${cid.toString()} uses codec 0x${cid.code.toString(16)}`,
      hint: 'Verity packages are UnixFS: dag-pb and raw blocks only.',
      docsPath: 'hub.md',
    })
}

/**
 * Parses a CID string, throwing {@link BlockIntegrityError} for anything else.
 *
 * @example
 * ```ts
 * const cid = parseCid('bafybei…')
 * ```
 */
export function parseCid(text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text.trim())
  } catch (cause) {
    throw new BlockIntegrityError('Not a CID', { details: text.slice(0, 120), hint: 'Pass a CID such as bafybei….', cause })
  }
  assertSupportedCid(cid)
  return cid
}
