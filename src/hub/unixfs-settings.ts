import type { BufferImporter, ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256Parallel } from '../crypto/sha256-parallel.js'

/**
 * The one way Verity turns files into UnixFS blocks. These settings are part of the format: the
 * same folder must give the same CID here and in kubo with
 * `ipfs add -r --cid-version 1 --raw-leaves --chunker=size-1048576` (see docs/hub.md).
 *
 * - CIDv1, sha2-256 multihashes (base32 `bafy…`/`bafk…` strings).
 * - Raw leaves: file bytes are stored as `raw` (0x55) blocks; a file of one chunk (or an empty file)
 *   is that single raw block.
 * - Fixed-size chunks of 1 MiB: fewer blocks than kubo's 256 KiB default (a 100 MB package is ~100
 *   leaves instead of ~400) and the chunk size of IPFS's `unixfs-v1-2025` profile.
 * - Balanced file layout with at most 174 links per node, kubo's default.
 * - Directories are dag-pb UnixFS directories (HAMT-sharded past 256 KiB of links, as kubo).
 */

/** Largest block Verity accepts from a peer or its own disk (kubo's limit is 2 MiB; Verity's leaves are 1 MiB). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024

/** Bytes per leaf block. */
export const UNIXFS_CHUNK_SIZE = 1_048_576

/** The `ipfs add` flags that compute the same CIDs as Verity. */
export const KUBO_ADD_FLAGS = ['--cid-version', '1', '--raw-leaves', `--chunker=size-${UNIXFS_CHUNK_SIZE}`] as const

/** The multicodec code of dag-pb (UnixFS files with several chunks, directories). */
export const DAG_PB_CODE = 0x70
/** The multicodec code of raw blocks (file chunks). */
export const RAW_CODE = 0x55
/** The multihash code of sha2-256, the only hash Verity accepts. */
export const SHA2_256_CODE = 0x12

/** Leaves hashed and written at once (the importer's batch): a few MiB, so reading overlaps hashing. */
const LEAF_BATCH = 8

/**
 * The importer's leaf step for raw leaves, with the hash on worker threads ({@link sha256Parallel}):
 * the same CIDs as the library's own, computed on more than one core.
 */
const rawLeafImporter: BufferImporter = async function* (file, blockstore) {
  for await (const block of file.content) {
    yield async () => {
      const cid = CID.createV1(RAW_CODE, Digest.create(SHA2_256_CODE, await sha256Parallel(block)))
      await blockstore.put(cid, block)
      return { cid, size: BigInt(block.length), block }
    }
  }
}

/**
 * Importer options for `ipfs-unixfs-importer` that implement the settings above.
 *
 * @example
 * ```ts
 * for await (const entry of importer(files, blockstore, unixfsImporterOptions())) console.log(entry.cid)
 * ```
 */
export function unixfsImporterOptions(): ImporterOptions {
  return {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: UNIXFS_CHUNK_SIZE }),
    wrapWithDirectory: false,
    bufferImporter: rawLeafImporter,
    blockWriteConcurrency: LEAF_BATCH,
  }
}
