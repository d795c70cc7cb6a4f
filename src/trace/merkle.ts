import { createHash } from 'node:crypto'
import { assertBytes } from '../crypto/bytes.js'

/**
 * RFC 9162 (Certificate Transparency v2, section 2.1) Merkle tree hashing with SHA-256:
 * `leaf = H(0x00 || data)`, `node = H(0x01 || left || right)`, the left subtree always the
 * largest power of two smaller than the tree. In a trace the leaf data is the 32-byte entry hash.
 */

const LEAF_PREFIX = new Uint8Array([0x00])
const NODE_PREFIX = new Uint8Array([0x01])

/** SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_TREE_ROOT = new Uint8Array(createHash('sha256').digest())

/**
 * `H(0x00 || data)`.
 *
 * @example
 * ```ts
 * merkleLeafHash(entryHashBytes)
 * ```
 */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  assertBytes(data, 'merkleLeafHash(data)')
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest())
}

/**
 * `H(0x01 || left || right)`.
 *
 * @example
 * ```ts
 * merkleNodeHash(left, right)
 * ```
 */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest())
}

/** Largest power of two strictly smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/**
 * The Merkle Tree Hash (root) of a list of leaf hashes.
 *
 * @example
 * ```ts
 * merkleRoot(entries.map((e) => merkleLeafHash(e.hash)))
 * ```
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const accumulator = new MerkleAccumulator()
  for (const leaf of leafHashes) accumulator.push(leaf)
  return accumulator.root()
}

/**
 * An append-only Merkle accumulator (RFC 9162 "compact range"): keeps one hash per perfect
 * subtree, so appending is O(log n) and the root is available at any size without the leaves.
 *
 * @example
 * ```ts
 * const accumulator = new MerkleAccumulator()
 * accumulator.push(merkleLeafHash(data))
 * accumulator.root()
 * ```
 */
export class MerkleAccumulator {
  #hashes: Uint8Array[] = []
  #sizes: number[] = []
  #size = 0

  /** Number of leaves pushed. */
  get size(): number {
    return this.#size
  }

  /** Appends a leaf hash (already `H(0x00 || data)`). */
  push(leafHash: Uint8Array): void {
    assertBytes(leafHash, 'MerkleAccumulator.push(leafHash)', 32)
    let hash = leafHash
    let size = 1
    while (this.#sizes.length > 0 && this.#sizes[this.#sizes.length - 1] === size) {
      const left = this.#hashes.pop() as Uint8Array
      this.#sizes.pop()
      hash = merkleNodeHash(left, hash)
      size *= 2
    }
    this.#hashes.push(hash)
    this.#sizes.push(size)
    this.#size++
  }

  /** The root of the leaves pushed so far. */
  root(): Uint8Array {
    if (this.#hashes.length === 0) return EMPTY_TREE_ROOT
    let root = this.#hashes[this.#hashes.length - 1] as Uint8Array
    for (let index = this.#hashes.length - 2; index >= 0; index--) root = merkleNodeHash(this.#hashes[index] as Uint8Array, root)
    return root
  }
}

/**
 * A Merkle tree over a fixed list of leaf hashes, keeping every level of perfect subtrees so that
 * inclusion and consistency proofs take O(log² n) hashing after an O(n) build.
 *
 * @example
 * ```ts
 * const tree = new MerkleTree(leafHashes)
 * const proof = tree.inclusionProof(5)
 * ```
 */
export class MerkleTree {
  /** levels[j][i] = root of the perfect subtree of 2^j leaves starting at leaf i * 2^j. */
  readonly #levels: Uint8Array[][]

  constructor(leafHashes: readonly Uint8Array[]) {
    for (const [index, leaf] of leafHashes.entries()) assertBytes(leaf, `MerkleTree leaf ${index}`, 32)
    const levels: Uint8Array[][] = [[...leafHashes]]
    while ((levels[levels.length - 1] as Uint8Array[]).length > 1) {
      const below = levels[levels.length - 1] as Uint8Array[]
      const level: Uint8Array[] = []
      for (let index = 0; index + 1 < below.length; index += 2)
        level.push(merkleNodeHash(below[index] as Uint8Array, below[index + 1] as Uint8Array))
      levels.push(level)
    }
    this.#levels = levels
  }

  /** Number of leaves. */
  get size(): number {
    return (this.#levels[0] as Uint8Array[]).length
  }

  /** Root of the first `size` leaves (default: all). */
  root(size = this.size): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`MerkleTree.root: size ${size} out of range`)
    return size === 0 ? EMPTY_TREE_ROOT : this.#subtree(0, size)
  }

  /** Root of leaves [start, end), where the range is a subtree of the RFC 9162 recursion. */
  #subtree(start: number, end: number): Uint8Array {
    const n = end - start
    if (isPowerOfTwo(n)) {
      const level = Math.log2(n)
      const cached = this.#levels[level]?.[start / n]
      if (cached && start % n === 0) return cached
    }
    if (n === 1) return this.#levels[0]?.[start] as Uint8Array
    const k = split(n)
    return merkleNodeHash(this.#subtree(start, start + k), this.#subtree(start + k, end))
  }

  /** RFC 9162 inclusion proof `PATH(index, D[treeSize])`. */
  inclusionProof(index: number, treeSize = this.size): Uint8Array[] {
    if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > this.size)
      throw new RangeError(`merkleInclusionProof: tree size ${treeSize} out of range`)
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize)
      throw new RangeError(`merkleInclusionProof: index ${index} out of range for size ${treeSize}`)
    const path: Uint8Array[] = []
    const walk = (m: number, start: number, end: number): void => {
      const n = end - start
      if (n <= 1) return
      const k = split(n)
      if (m < k) {
        walk(m, start, start + k)
        path.push(this.#subtree(start + k, end))
      } else {
        walk(m - k, start + k, end)
        path.push(this.#subtree(start, start + k))
      }
    }
    walk(index, 0, treeSize)
    return path
  }

  /** RFC 9162 consistency proof `PROOF(fromSize, D[toSize])`. */
  consistencyProof(fromSize: number, toSize = this.size): Uint8Array[] {
    if (!Number.isSafeInteger(toSize) || toSize < 0 || toSize > this.size)
      throw new RangeError(`merkleConsistencyProof: size ${toSize} out of range`)
    if (!Number.isSafeInteger(fromSize) || fromSize < 0 || fromSize > toSize)
      throw new RangeError(`merkleConsistencyProof: from size ${fromSize} out of range`)
    if (fromSize === 0 || fromSize === toSize) return []
    const proof: Uint8Array[] = []
    const walk = (m: number, start: number, end: number, complete: boolean): void => {
      const n = end - start
      if (m === n) {
        if (!complete) proof.push(this.#subtree(start, end))
        return
      }
      const k = split(n)
      if (m <= k) {
        walk(m, start, start + k, complete)
        proof.push(this.#subtree(start + k, end))
      } else {
        walk(m - k, start + k, end, false)
        proof.push(this.#subtree(start, start + k))
      }
    }
    walk(fromSize, 0, toSize, true)
    return proof
  }
}

export type MerkleInclusionProofParameters = {
  /** Leaf hashes of the whole tree (or at least its first `treeSize`). */
  leafHashes: readonly Uint8Array[]
  /** Zero-based index of the leaf. */
  index: number
  /** Tree size the proof is for (default: all leaves). */
  treeSize?: number | undefined
}
export type MerkleInclusionProofReturnType = Uint8Array[]

/**
 * RFC 9162 inclusion proof (audit path) `PATH(m, D[n])`. Builds a {@link MerkleTree}; keep one
 * to make many proofs.
 *
 * @example
 * ```ts
 * const proof = merkleInclusionProof({ leafHashes, index: 5 })
 * ```
 */
export function merkleInclusionProof(parameters: MerkleInclusionProofParameters): MerkleInclusionProofReturnType {
  const treeSize = parameters.treeSize ?? parameters.leafHashes.length
  if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > parameters.leafHashes.length)
    throw new RangeError(`merkleInclusionProof: tree size ${treeSize} out of range`)
  return new MerkleTree(parameters.leafHashes.slice(0, treeSize)).inclusionProof(parameters.index)
}

export type VerifyMerkleInclusionParameters = {
  leafHash: Uint8Array
  index: number
  treeSize: number
  proof: readonly Uint8Array[]
  root: Uint8Array
}

/**
 * RFC 9162 section 2.1.3.2: checks that `leafHash` is leaf `index` of the tree of `treeSize` with `root`.
 *
 * @example
 * ```ts
 * verifyMerkleInclusion({ leafHash, index: 5, treeSize: 8, proof, root }) // true
 * ```
 */
export function verifyMerkleInclusion(parameters: VerifyMerkleInclusionParameters): boolean {
  const { leafHash, index, treeSize, proof, root } = parameters
  if (!isHash(leafHash) || !isHash(root) || !proof.every(isHash)) return false
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false
  let fn = index
  let sn = treeSize - 1
  let r = leafHash
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else r = merkleNodeHash(r, p)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equalBytes(r, root)
}

export type MerkleConsistencyProofParameters = {
  leafHashes: readonly Uint8Array[]
  /** Size of the older tree. */
  fromSize: number
  /** Size of the newer tree (default: all leaves). */
  toSize?: number | undefined
}
export type MerkleConsistencyProofReturnType = Uint8Array[]

/**
 * RFC 9162 consistency proof `PROOF(m, D[n])` between the tree of `fromSize` and of `toSize` leaves.
 *
 * @example
 * ```ts
 * const proof = merkleConsistencyProof({ leafHashes, fromSize: 6, toSize: 8 })
 * ```
 */
export function merkleConsistencyProof(parameters: MerkleConsistencyProofParameters): MerkleConsistencyProofReturnType {
  const toSize = parameters.toSize ?? parameters.leafHashes.length
  if (!Number.isSafeInteger(toSize) || toSize < 0 || toSize > parameters.leafHashes.length)
    throw new RangeError(`merkleConsistencyProof: size ${toSize} out of range`)
  return new MerkleTree(parameters.leafHashes.slice(0, toSize)).consistencyProof(parameters.fromSize)
}

export type VerifyMerkleConsistencyParameters = {
  fromSize: number
  toSize: number
  fromRoot: Uint8Array
  toRoot: Uint8Array
  proof: readonly Uint8Array[]
}

/**
 * RFC 9162 section 2.1.4.2: checks that the tree of `toSize` with `toRoot` extends the tree of
 * `fromSize` with `fromRoot` (nothing in the older tree was changed or removed).
 *
 * @example
 * ```ts
 * verifyMerkleConsistency({ fromSize: 6, toSize: 8, fromRoot, toRoot, proof }) // true
 * ```
 */
export function verifyMerkleConsistency(parameters: VerifyMerkleConsistencyParameters): boolean {
  const { fromSize, toSize, fromRoot, toRoot, proof } = parameters
  if (!Number.isSafeInteger(fromSize) || !Number.isSafeInteger(toSize) || fromSize < 0 || fromSize > toSize) return false
  if (!proof.every(isHash)) return false
  if (fromSize === toSize) return proof.length === 0 && isHash(fromRoot) && equalBytes(fromRoot, toRoot)
  if (fromSize === 0) return proof.length === 0
  if (!isHash(fromRoot) || !isHash(toRoot) || proof.length === 0) return false
  const path = isPowerOfTwo(fromSize) ? [fromRoot, ...proof] : [...proof]
  let fn = fromSize - 1
  let sn = toSize - 1
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  let fr = path[0] as Uint8Array
  let sr = path[0] as Uint8Array
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = merkleNodeHash(c, fr)
      sr = merkleNodeHash(c, sr)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else sr = merkleNodeHash(sr, c)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equalBytes(fr, fromRoot) && equalBytes(sr, toRoot)
}

function isPowerOfTwo(n: number): boolean {
  let value = n
  while (value > 1 && value % 2 === 0) value /= 2
  return value === 1
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === 32
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
  return true
}
