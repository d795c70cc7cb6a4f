import semver from 'semver'
import { ReleaseVerificationError } from '../errors.js'
import type { Hub } from './open-hub.js'
import type { Release } from './release.js'
import { parseReleaseReference } from './release-store.js'

/** One step of a release's history. */
export type ReleaseLogEntry = {
  release: Release
  /** How this release relates to the next one down the list: a new version, a fork, or the origin. */
  link: 'version' | 'fork' | 'origin' | 'missing-parent'
}

export type ReleaseLogParameters = {
  hub: Hub
  /** `[0xPUBLISHER/]NAME[@VERSION]`. */
  reference: string
}
export type ReleaseLogReturnType = {
  entries: ReleaseLogEntry[]
  /** False when an ancestor is not in this hub (pull it to check the rest of the chain). */
  complete: boolean
}

/**
 * A release's history: the parent chain from it back to its origin, across forks, with every
 * signature verified and every link checked (the parent the child signed is the release found,
 * versions of one name increase, time does not run backwards). A broken link throws
 * {@link ReleaseVerificationError}.
 *
 * @example
 * ```ts
 * const { entries } = releaseLog({ hub, reference: 'risk-tuned' })
 * entries.map((entry) => `${entry.release.name}@${entry.release.version} ${entry.link}`)
 * ```
 */
export function releaseLog(parameters: ReleaseLogParameters): ReleaseLogReturnType {
  const { hub } = parameters
  const all = hub.releases.all()
  const byId = new Map(all.map((release) => [release.id, release]))
  let current = hub.releases.resolve(parseReleaseReference(parameters.reference))
  const entries: ReleaseLogEntry[] = []
  const seen = new Set<string>()
  for (;;) {
    seen.add(current.id)
    const parentLink = current.details.parent
    if (!parentLink) {
      entries.push({ release: current, link: 'origin' })
      return { entries, complete: true }
    }
    const parent = byId.get(parentLink.id)
    if (!parent) {
      entries.push({ release: current, link: 'missing-parent' })
      return { entries, complete: false }
    }
    const label = `${current.publisher}/${current.name}@${current.version}`
    if (
      seen.has(parent.id) ||
      parent.publisher.toLowerCase() !== parentLink.publisher.toLowerCase() ||
      parent.name !== parentLink.name ||
      parent.version !== parentLink.version
    )
      throw new ReleaseVerificationError('Release names a parent that does not match', {
        details: `${label}: parent ${parentLink.publisher}/${parentLink.name}@${parentLink.version} is ${parent.publisher}/${parent.name}@${parent.version}`,
        docsPath: 'hub.md',
      })
    const sameName = parent.publisher.toLowerCase() === current.publisher.toLowerCase() && parent.name === current.name
    if (sameName && !semver.gt(current.version, parent.version))
      throw new ReleaseVerificationError('Versions of a name must increase along its history', {
        details: `${label} follows ${parent.version}`,
        docsPath: 'hub.md',
      })
    if (current.createdAt < parent.createdAt)
      throw new ReleaseVerificationError('Release is older than its parent', {
        details: `${label}: ${current.createdAt} < ${parent.createdAt}`,
        docsPath: 'hub.md',
      })
    entries.push({ release: current, link: sameName ? 'version' : 'fork' })
    current = parent
  }
}
