import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { getAddress } from 'ethers'
import semver from 'semver'
import { InvalidInputError, NotFoundError, ReleaseVerificationError } from '../errors.js'
import { writeFileAtomicAsync } from '../storage/atomic-file.js'
import { type Release, releaseNameSchema, verifyRelease } from './release.js'

/**
 * Releases kept by a hub: `<releases>/<publisher, lower case>/<name>/<version>.json`, each a signed
 * `verity-release/v1` file, checked whenever it is read. A version, once stored, is never replaced:
 * a second, different release for the same publisher/name/version (equivocation) is refused.
 */

/** A reference to releases: `[publisher/]name[@version]`, or a release id (`0x` + 64 hex). */
export type ReleaseReference = { publisher?: string | undefined; name: string; version?: string | undefined }

/**
 * Parses `0xPUBLISHER/name@version`, `name@version` or `name`.
 *
 * @example
 * ```ts
 * parseReleaseReference('0xAbC…/transaction-risk@1.0.0')
 * ```
 */
export function parseReleaseReference(text: string): ReleaseReference {
  const match = /^(?:(0x[0-9a-fA-F]{40})\/)?([^@/]+)(?:@(.+))?$/.exec(text.trim())
  if (!match || !releaseNameSchema.safeParse(match[2]).success)
    throw new InvalidInputError('Bad release name', {
      details: text,
      hint: 'Use NAME, NAME@VERSION or 0xPUBLISHER/NAME@VERSION (names: a-z 0-9 . _ -).',
      docsPath: 'hub.md',
    })
  return { publisher: match[1] ? getAddress(match[1].toLowerCase()) : undefined, name: match[2] as string, version: match[3] }
}

export type ReleaseStore = {
  readonly dir: string
  /** Every stored release, each verified (a bad file throws). */
  all(): Release[]
  /** Releases matching a reference, newest version first. */
  find(reference: ReleaseReference): Release[]
  /** The single release a reference names (the highest version when none is given). */
  resolve(reference: ReleaseReference): Release
  /** A stored release by id, if present. */
  byId(id: string): Release | undefined
  /** Verifies and stores a release (idempotent for the same release; equivocation refused). */
  save(release: unknown): Promise<Release>
}

export type OpenReleaseStoreParameters = { dir: string }
export type OpenReleaseStoreReturnType = ReleaseStore

/**
 * Opens the release folder of a hub.
 *
 * @example
 * ```ts
 * const releases = openReleaseStore({ dir: join(home, 'releases') })
 * releases.resolve(parseReleaseReference('transaction-risk'))
 * ```
 */
export function openReleaseStore(parameters: OpenReleaseStoreParameters): OpenReleaseStoreReturnType {
  const { dir } = parameters
  const pathOf = (release: Pick<Release, 'publisher' | 'name' | 'version'>) =>
    join(dir, release.publisher.toLowerCase(), release.name, `${release.version}.json`)
  const all = (): Release[] => {
    if (!existsSync(dir)) return []
    const out: Release[] = []
    for (const publisher of readdirSync(dir).sort()) {
      if (!/^0x[0-9a-f]{40}$/.test(publisher)) continue
      for (const name of readdirSync(join(dir, publisher)).sort())
        for (const file of readdirSync(join(dir, publisher, name)).sort()) {
          if (!file.endsWith('.json') || file.startsWith('.')) continue
          const path = join(dir, publisher, name, file)
          let release: Release
          try {
            release = verifyRelease(JSON.parse(readFileSync(path, 'utf8')))
          } catch (cause) {
            throw new ReleaseVerificationError('A stored release does not verify', {
              details: `${path}: ${(cause as Error).message.split('\n')[0]}`,
              hint: 'The file was altered; remove it or pull the release again.',
              docsPath: 'hub.md',
              cause,
            })
          }
          if (pathOf(release) !== path)
            throw new ReleaseVerificationError('A stored release is filed under another name', {
              details: `${path} holds ${release.publisher}/${release.name}@${release.version}`,
              docsPath: 'hub.md',
            })
          out.push(release)
        }
    }
    return out
  }
  const find = (reference: ReleaseReference): Release[] =>
    all()
      .filter(
        (release) =>
          release.name === reference.name &&
          (!reference.publisher || release.publisher.toLowerCase() === reference.publisher.toLowerCase()) &&
          (!reference.version || release.version === reference.version),
      )
      .sort((a, b) => semver.rcompare(a.version, b.version) || a.publisher.localeCompare(b.publisher))
  return {
    dir,
    all,
    find,
    resolve(reference) {
      const found = find(reference)
      const label = `${reference.publisher ? `${reference.publisher}/` : ''}${reference.name}${reference.version ? `@${reference.version}` : ''}`
      if (!found.length)
        throw new NotFoundError('No such release in this hub', {
          details: label,
          hint: 'List releases with `verity hub list`, or pull it with `verity hub pull NAME --from URL`.',
          docsPath: 'hub.md',
        })
      const publishers = new Set(found.map((release) => release.publisher.toLowerCase()))
      if (publishers.size > 1)
        throw new InvalidInputError('Several publishers have a release of this name', {
          details: `${label}: ${[...publishers].join(', ')}`,
          hint: 'Name the publisher: 0xPUBLISHER/NAME@VERSION.',
          docsPath: 'hub.md',
        })
      return found[0] as Release
    },
    byId(id) {
      return all().find((release) => release.id === id.toLowerCase())
    },
    async save(value) {
      const release = verifyRelease(value)
      const path = pathOf(release)
      if (existsSync(path)) {
        const existing = verifyRelease(JSON.parse(readFileSync(path, 'utf8')))
        if (existing.id === release.id) return existing
        throw new ReleaseVerificationError('This version is already published with other contents', {
          details: `${release.publisher}/${release.name}@${release.version}: stored ${existing.id}, offered ${release.id}`,
          hint: 'Releases are immutable: publish a new version. Two signed releases of one version mean the publisher equivocated.',
          docsPath: 'hub.md',
          meta: { stored: existing.id, offered: release.id },
        })
      }
      await mkdir(join(path, '..'), { recursive: true })
      await writeFileAtomicAsync({ path, data: `${JSON.stringify(release, null, 2)}\n`, mode: 0o644 })
      return release
    },
  }
}
