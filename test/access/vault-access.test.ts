import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Contract, Wallet } from 'ethers'
import { Wallet as WalletClass } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { litGuard } from '../../src/access/lit-guard.js'
import { litLocalNetwork } from '../../src/access/lit-local/lit-local-network.js'
import { ownerGuard } from '../../src/access/owner-guard.js'
import { AccessDeniedError, WrongKeyError } from '../../src/errors.js'
import { createVault, openVault } from '../../src/memory/index.js'
import { hashEmbedder } from '../memory/helpers.js'
import { startTestChain, type TestChain } from './helpers/evm.js'
import { startTestLitNetwork, type TestLitNetwork } from './helpers/lit-local.js'

const embedder = hashEmbedder(16)
let chain: TestChain
let lit: TestLitNetwork
let folder: string
let nft: { address: string; contract: Contract }

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'verity-vault-access-'))
  chain = await startTestChain()
  nft = await chain.deploy('TestNft')
  await (await nft.contract.getFunction('mint')((chain.wallets[1] as Wallet).address, 7n)).wait()
  lit = await startTestLitNetwork({ chains: { ethereum: { rpcUrl: chain.rpcUrl, chainId: chain.chainId } } })
}, 120_000)

afterAll(async () => {
  await lit?.cleanup()
  await chain?.close()
  rmSync(folder, { recursive: true, force: true })
})

describe('vaults guarded by owner wallets and Lit conditions', () => {
  it('a vault whose lit condition is "holds ERC-721 #7" opens for the holder only, and a transfer flips that', async () => {
    const [, holder, other] = chain.wallets as [Wallet, Wallet, Wallet]
    const network = litLocalNetwork({ nodes: lit.urls, network: lit.network })
    const conditions = {
      accessControlConditions: [
        {
          contractAddress: nft.address,
          standardContractType: 'ERC721',
          chain: 'ethereum',
          method: 'ownerOf',
          parameters: ['7'],
          returnValueTest: { comparator: '=', value: ':userAddress' },
        },
      ],
    }
    const path = join(folder, 'lit-vault')
    const vault = await createVault({ path, guards: [litGuard({ network, conditions })], embedder })
    await vault.add({ text: 'the holder keeps this memory' })
    await vault.close()

    const asHolder = await openVault({ path, guards: [litGuard({ network, signer: holder })], embedder, readOnly: true })
    expect(asHolder.list().records.map((record) => record.text)).toEqual(['the holder keeps this memory'])
    await asHolder.close()
    await expect(
      openVault({ path, guards: [litGuard({ network, signer: other })], embedder, readOnly: true }),
    ).rejects.toBeInstanceOf(AccessDeniedError)

    await (await (nft.contract.connect(holder) as Contract).getFunction('transferFrom')(holder.address, other.address, 7n)).wait()
    const asOther = await openVault({ path, guards: [litGuard({ network, signer: other })], embedder, readOnly: true })
    expect(asOther.list().total).toBe(1)
    await asOther.close()
    await expect(
      openVault({ path, guards: [litGuard({ network, signer: holder })], embedder, readOnly: true }),
    ).rejects.toBeInstanceOf(AccessDeniedError)
  })

  it('owner guard round trip; grant, then revoke, then rotate: the revoked wallet cannot read later memories', async () => {
    const owner = WalletClass.createRandom()
    const friend = WalletClass.createRandom()
    const path = join(folder, 'owner-vault')
    const vault = await createVault({ path, guards: [ownerGuard({ wallet: owner })], embedder })
    await vault.add({ text: 'before the grant' })
    const grant = await vault.grant(ownerGuard({ publicKey: friend.signingKey.publicKey }))
    expect(grant).toMatchObject({ kind: 'owner', recipient: friend.address })
    expect(
      vault
        .grants()
        .map((entry) => entry.recipient)
        .sort(),
    ).toEqual([owner.address, friend.address].sort())
    await vault.add({ text: 'shared with the friend' })
    await vault.close()

    const asFriend = await openVault({ path, guards: [ownerGuard({ wallet: friend })], embedder, readOnly: true })
    expect(asFriend.list().total).toBe(2)
    await asFriend.close()

    const reopened = await openVault({ path, guards: [ownerGuard({ wallet: owner })], embedder })
    const before = reopened.info().keyId
    const { keyId } = await reopened.revoke(friend.address, { guards: [ownerGuard({ wallet: owner })] })
    expect(keyId).not.toBe(before)
    expect(reopened.grants().map((entry) => entry.recipient)).toEqual([owner.address])
    await reopened.add({ text: 'written after revocation' })
    const rotated = await reopened.rotate()
    expect(rotated.keyId).not.toBe(keyId)
    await reopened.close()

    await expect(openVault({ path, guards: [ownerGuard({ wallet: friend })], embedder, readOnly: true })).rejects.toBeInstanceOf(
      WrongKeyError,
    )
    const asOwner = await openVault({ path, guards: [ownerGuard({ wallet: owner })], embedder, readOnly: true })
    expect(
      asOwner
        .list()
        .records.map((record) => record.text)
        .sort(),
    ).toEqual(['before the grant', 'shared with the friend', 'written after revocation'])
    await asOwner.close()
  })
})
