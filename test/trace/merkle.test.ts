import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex, utf8ToBytes } from '../../src/crypto/bytes.js'
import { sha256 } from '../../src/crypto/digest.js'
import {
  EMPTY_TREE_ROOT,
  MerkleAccumulator,
  merkleConsistencyProof,
  merkleInclusionProof,
  merkleLeafHash,
  merkleRoot,
  verifyMerkleConsistency,
  verifyMerkleInclusion,
} from '../../src/trace/merkle.js'

// Known answers: the RFC 6962 / RFC 9162 reference test tree of the certificate-transparency
// projects (transparency-dev/merkle testonly/constants.go and proof/verify_test.go).
const leafInputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (hex) => fromHex(hex),
)
const leaves = leafInputs.map(merkleLeafHash)
const roots = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
// [leaf index (0-based), tree size, path]
const inclusionVectors: [number, number, string[]][] = [
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
]
const consistencyVectors: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
]
const someHash = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456')
const hexes = (list: Uint8Array[]) => list.map(toHex)
const flip = (bytes: Uint8Array, mask: number) => {
  const copy = new Uint8Array(bytes)
  copy[0] = (copy[0] as number) ^ mask
  return copy
}

describe('RFC 9162 Merkle tree known answers', () => {
  it('roots of every prefix of the reference tree', () => {
    expect(toHex(EMPTY_TREE_ROOT)).toBe(roots[0])
    for (let size = 0; size <= 8; size++) expect(toHex(merkleRoot(leaves.slice(0, size)))).toBe(roots[size])
  })

  it('the accumulator gives the same roots incrementally', () => {
    const accumulator = new MerkleAccumulator()
    for (const [index, leaf] of leaves.entries()) {
      accumulator.push(leaf)
      expect(toHex(accumulator.root())).toBe(roots[index + 1])
    }
  })

  it('leaf hash is H(0x00 || data)', () => {
    expect(toHex(merkleLeafHash(new Uint8Array()))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
  })

  it.each(inclusionVectors)('inclusion proof of leaf %i in a tree of %i', (index, size, path) => {
    const proof = merkleInclusionProof({ leafHashes: leaves, index, treeSize: size })
    expect(hexes(proof)).toEqual(path)
    const root = fromHex(roots[size] as string)
    expect(verifyMerkleInclusion({ leafHash: leaves[index] as Uint8Array, index, treeSize: size, proof, root })).toBe(true)
  })

  it.each(consistencyVectors)('consistency proof from %i to %i', (fromSize, toSize, path) => {
    const proof = merkleConsistencyProof({ leafHashes: leaves, fromSize, toSize })
    expect(hexes(proof)).toEqual(path)
    const fromRoot = fromHex(roots[fromSize] as string)
    const toRoot = fromHex(roots[toSize] as string)
    expect(verifyMerkleConsistency({ fromSize, toSize, fromRoot, toRoot, proof })).toBe(true)
  })
})

describe('Merkle must-fail probes', () => {
  it.each(inclusionVectors)('inclusion of leaf %i in %i: every corruption fails', (index, size, path) => {
    const proof = path.map((hex) => fromHex(hex))
    const root = fromHex(roots[size] as string)
    const leafHash = leaves[index] as Uint8Array
    const probes: [string, Parameters<typeof verifyMerkleInclusion>[0]][] = [
      ['index - 1', { leafHash, index: index - 1, treeSize: size, proof, root }],
      ['index + 1', { leafHash, index: index + 1, treeSize: size, proof, root }],
      ['index ^ 2', { leafHash, index: index ^ 2, treeSize: size, proof, root }],
      ['size * 2', { leafHash, index, treeSize: size * 2, proof, root }],
      ['size / 2', { leafHash, index, treeSize: Math.floor(size / 2), proof, root }],
      ['wrong leaf', { leafHash: utf8ToBytes('WrongLeaf'), index, treeSize: size, proof, root }],
      ['other leaf', { leafHash: sha256('other'), index, treeSize: size, proof, root }],
      ['empty root', { leafHash, index, treeSize: size, proof, root: EMPTY_TREE_ROOT }],
      ['random root', { leafHash, index, treeSize: size, proof, root: someHash }],
      ['trailing garbage', { leafHash, index, treeSize: size, proof: [...proof, new Uint8Array()], root }],
      ['trailing root', { leafHash, index, treeSize: size, proof: [...proof, root], root }],
      ['preceding root', { leafHash, index, treeSize: size, proof: [root, ...proof], root }],
      ['removed component', { leafHash, index, treeSize: size, proof: proof.slice(0, -1), root }],
      [
        'inserted component',
        { leafHash, index, treeSize: size, proof: [proof[0] as Uint8Array, someHash, ...proof.slice(1)], root },
      ],
      ...proof.map(
        (_, i) =>
          [
            `flipped bit in proof[${i}]`,
            { leafHash, index, treeSize: size, proof: proof.map((p, j) => (j === i ? flip(p, 8) : p)), root },
          ] as [string, Parameters<typeof verifyMerkleInclusion>[0]],
      ),
    ]
    for (const [name, probe] of probes) expect(verifyMerkleInclusion(probe), name).toBe(false)
  })

  it.each(consistencyVectors.filter(([, , path]) => path.length > 0))(
    'consistency %i → %i: every corruption fails',
    (fromSize, toSize, path) => {
      const proof = path.map((hex) => fromHex(hex))
      const fromRoot = fromHex(roots[fromSize] as string)
      const toRoot = fromHex(roots[toSize] as string)
      const base = { fromSize, toSize, fromRoot, toRoot, proof }
      const probes: [string, Parameters<typeof verifyMerkleConsistency>[0]][] = [
        ['size1 - 1', { ...base, fromSize: fromSize - 1 }],
        ['size1 + 1', { ...base, fromSize: fromSize + 1 }],
        ['size1 ^ 2', { ...base, fromSize: fromSize ^ 2 }],
        ['size2 * 2', { ...base, toSize: toSize * 2 }],
        ['size2 / 2', { ...base, toSize: Math.floor(toSize / 2) }],
        ['wrong root1', { ...base, fromRoot: utf8ToBytes('WrongRoot') }],
        ['wrong root2', { ...base, toRoot: utf8ToBytes('WrongRoot') }],
        ['swapped roots', { ...base, fromRoot: toRoot, toRoot: fromRoot }],
        ['empty proof', { ...base, proof: [] }],
        ['trailing garbage', { ...base, proof: [...proof, new Uint8Array()] }],
        ['trailing root1', { ...base, proof: [...proof, fromRoot] }],
        ['trailing root2', { ...base, proof: [...proof, toRoot] }],
        ['preceding root1', { ...base, proof: [fromRoot, ...proof] }],
        ['preceding root2', { ...base, proof: [toRoot, ...proof] }],
        ['preceding proof[0]', { ...base, proof: [proof[0] as Uint8Array, ...proof] }],
        ['truncated proof', { ...base, proof: proof.slice(0, -1) }],
        ...proof.map(
          (_, i) =>
            [`flipped bit in proof[${i}]`, { ...base, proof: proof.map((p, j) => (j === i ? flip(p, 16) : p)) }] as [
              string,
              Parameters<typeof verifyMerkleConsistency>[0],
            ],
        ),
      ]
      for (const [name, probe] of probes) expect(verifyMerkleConsistency(probe), name).toBe(false)
    },
  )

  it('edge cases of consistency from the reference suite', () => {
    const a = sha256('don’t care 1')
    const b = sha256('don’t care 2')
    expect(verifyMerkleConsistency({ fromSize: 0, toSize: 0, fromRoot: a, toRoot: a, proof: [] })).toBe(true)
    expect(verifyMerkleConsistency({ fromSize: 0, toSize: 1, fromRoot: a, toRoot: b, proof: [] })).toBe(true)
    expect(verifyMerkleConsistency({ fromSize: 1, toSize: 1, fromRoot: a, toRoot: b, proof: [] })).toBe(false)
    expect(verifyMerkleConsistency({ fromSize: 1, toSize: 0, fromRoot: a, toRoot: b, proof: [] })).toBe(false)
    expect(verifyMerkleConsistency({ fromSize: 1, toSize: 2, fromRoot: a, toRoot: b, proof: [] })).toBe(false)
    expect(verifyMerkleConsistency({ fromSize: 0, toSize: 1, fromRoot: a, toRoot: a, proof: [EMPTY_TREE_ROOT] })).toBe(false)
    expect(verifyMerkleConsistency({ fromSize: 1, toSize: 1, fromRoot: a, toRoot: a, proof: [EMPTY_TREE_ROOT] })).toBe(false)
  })
})

describe('Merkle properties', () => {
  it('every inclusion and consistency proof of random trees verifies, and fails against a neighbour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1000 }), (size, salt) => {
        const tree = Array.from({ length: size }, (_, i) => merkleLeafHash(utf8ToBytes(`${salt}:${i}`)))
        const root = merkleRoot(tree)
        for (let index = 0; index < size; index++) {
          const proof = merkleInclusionProof({ leafHashes: tree, index })
          expect(verifyMerkleInclusion({ leafHash: tree[index] as Uint8Array, index, treeSize: size, proof, root })).toBe(true)
          if (size > 1) {
            const other = (index + 1) % size
            expect(verifyMerkleInclusion({ leafHash: tree[other] as Uint8Array, index, treeSize: size, proof, root })).toBe(false)
          }
        }
        for (let fromSize = 1; fromSize <= size; fromSize++) {
          const proof = merkleConsistencyProof({ leafHashes: tree, fromSize })
          const fromRoot = merkleRoot(tree.slice(0, fromSize))
          expect(verifyMerkleConsistency({ fromSize, toSize: size, fromRoot, toRoot: root, proof })).toBe(true)
          if (fromSize < size) {
            const forged = merkleRoot([...tree.slice(0, fromSize - 1), sha256('forged')])
            expect(verifyMerkleConsistency({ fromSize, toSize: size, fromRoot: forged, toRoot: root, proof })).toBe(false)
          }
        }
      }),
      { numRuns: 30 },
    )
  })
})
