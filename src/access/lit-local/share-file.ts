import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { StorageError } from '../../errors.js'
import { parseInput } from '../../validation.js'

/** What one node holds: its share of the master key (secret) and the network's public facts. */
export type ShareFile = {
  format: 'verity-lit-local-share/1'
  index: number
  /** The secret share, hex. Never log it. */
  secret: string
  /** This node's public share (G1, hex). */
  publicKey: string
  /** The network public key (G1, hex). */
  networkPublicKey: string
  threshold: number
  nodes: number
}

/** The public description of a dealt network (no secrets): `network.json`. */
export type NetworkFile = {
  format: 'verity-lit-local-network/1'
  networkPublicKey: string
  threshold: number
  nodes: { index: number; publicKey: string }[]
}

const hex = z.string().regex(/^[0-9a-f]+$/)
export const shareFileSchema = z.object({
  format: z.literal('verity-lit-local-share/1'),
  index: z.number().int().min(1).max(64),
  secret: hex.length(64),
  publicKey: hex.length(96),
  networkPublicKey: hex.length(96),
  threshold: z.number().int().min(1),
  nodes: z.number().int().min(1).max(64),
})
export const networkFileSchema = z.object({
  format: z.literal('verity-lit-local-network/1'),
  networkPublicKey: hex.length(96),
  threshold: z.number().int().min(1),
  nodes: z.array(z.object({ index: z.number().int().min(1), publicKey: hex.length(96) })).min(1),
})

/**
 * Reads and validates a node's share file.
 *
 * @example
 * ```ts
 * const share = await readShareFile('./lit-local/node-1/share.json')
 * ```
 */
export async function readShareFile(path: string): Promise<ShareFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new StorageError(`Cannot read share file ${path}`, { cause, hint: 'Run `verity lit-local deal` first.' })
  }
  return parseInput(shareFileSchema, safeJson(text), { what: `share file ${path}` }) as ShareFile
}

/**
 * Reads and validates a network description (`network.json`).
 *
 * @example
 * ```ts
 * const network = await readNetworkFile('./lit-local/network.json')
 * ```
 */
export async function readNetworkFile(path: string): Promise<NetworkFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new StorageError(`Cannot read network file ${path}`, { cause, hint: 'Run `verity lit-local deal` first.' })
  }
  return parseInput(networkFileSchema, safeJson(text), { what: `network file ${path}` }) as NetworkFile
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
