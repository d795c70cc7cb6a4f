import { mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { parseInput } from '../validation.js'
import { type FolderBlockstore, openFolderBlockstore } from './folder-blockstore.js'
import { openReleaseStore, type ReleaseStore } from './release-store.js'

/**
 * A local hub: a folder holding a blockstore (`blocks/`) shared by every package and version, and
 * signed releases (`releases/`). Default `$VERITY_HUB_HOME`, else `~/.verity/hub`.
 */
export type Hub = { dir: string; blocks: FolderBlockstore; releases: ReleaseStore }

export type OpenHubParameters = { dir?: string | undefined }
export type OpenHubReturnType = Hub

/**
 * The default hub folder.
 *
 * @example
 * ```ts
 * defaultHubDir() // '/home/me/.verity/hub'
 * ```
 */
export function defaultHubDir(): string {
  return resolve(process.env.VERITY_HUB_HOME || join(homedir(), '.verity', 'hub'))
}

/**
 * Opens (creating) a hub folder.
 *
 * @example
 * ```ts
 * const hub = await openHub({ dir: '.verity/hub' })
 * ```
 */
export async function openHub(parameters: OpenHubParameters = {}): Promise<OpenHubReturnType> {
  const input = parseInput(z.object({ dir: z.string().min(1).optional() }), parameters, { what: 'openHub parameters' })
  const dir = resolve(input.dir ?? defaultHubDir())
  await mkdir(join(dir, 'releases'), { recursive: true })
  return {
    dir,
    blocks: await openFolderBlockstore({ dir: join(dir, 'blocks') }),
    releases: openReleaseStore({ dir: join(dir, 'releases') }),
  }
}
