import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs'
import { StorageError } from '../../errors.js'
import { writeFileAtomic } from '../../storage/atomic-file.js'
import type { NonceStore } from './session-signature.js'

/**
 * A node's used request nonces, kept durably in its state folder so that a request captured before
 * a restart is still refused after it. One JSON line per nonce, `{"n": nonce, "e": expiresAt}`,
 * appended and `fdatasync`ed **before** the node answers (a share is never granted for a nonce the
 * file could lose). Nonces are forgotten once their request has expired (a request is valid for at
 * most a few minutes), so the file stays bounded: it is rewritten atomically with only the live
 * nonces when it opens and whenever it has doubled since the last rewrite.
 */

/** File name of the used-nonce log in a node's state folder. */
export const NONCE_FILE_NAME = 'used-nonces.jsonl'

export type OpenNonceFileParameters = {
  /** The file (e.g. `<state folder>/used-nonces.jsonl`); created when missing, mode 0600. */
  path: string
  /** Clock override, milliseconds (tests). */
  now?: number | undefined
}
export type OpenNonceFileReturnType = NonceStore & {
  /** Live nonces remembered. */
  readonly size: number
  close(): void
}

/**
 * Opens (or creates) a durable nonce store.
 *
 * @example
 * ```ts
 * const nonces = openNonceFile({ path: join(stateFolder, NONCE_FILE_NAME) })
 * if (nonces.seen(nonce, expiresAt, Date.now())) refuse('replay')
 * ```
 */
export function openNonceFile(parameters: OpenNonceFileParameters): OpenNonceFileReturnType {
  const { path } = parameters
  const live = new Map<string, number>()
  const now = parameters.now ?? Date.now()
  if (existsSync(path)) {
    // A torn or unreadable line is an append that never completed: its request was not answered.
    for (const text of readFileSync(path, 'utf8').split('\n')) {
      try {
        const item = JSON.parse(text) as { n?: unknown; e?: unknown }
        if (typeof item.n === 'string' && typeof item.e === 'number' && item.e >= now) live.set(item.n, item.e)
      } catch {
        // skip
      }
    }
  }
  let lines = 0
  let liveAtRewrite = 0
  let fd: number | undefined
  const rewrite = (at: number) => {
    for (const [nonce, expiry] of live) if (expiry < at) live.delete(nonce)
    if (fd !== undefined) closeSync(fd)
    fd = undefined
    writeFileAtomic({ path, data: [...live].map(([n, e]) => `${JSON.stringify({ n, e })}\n`).join('') })
    lines = live.size
    liveAtRewrite = live.size
    try {
      fd = openSync(path, 'a', 0o600)
    } catch (cause) {
      throw new StorageError('Could not open the nonce file', { details: `${path}: ${(cause as Error).message}`, cause })
    }
  }
  rewrite(now)
  return {
    get size() {
      return live.size
    },
    seen(nonce, expiresAt, at) {
      if (fd === undefined) throw new StorageError('The nonce file is closed', { details: path })
      const known = live.get(nonce)
      if (known !== undefined && known >= at) return true
      const line = Buffer.from(`${JSON.stringify({ n: nonce, e: expiresAt })}\n`, 'utf8')
      try {
        let offset = 0
        while (offset < line.length) offset += writeSync(fd, line, offset, line.length - offset)
        fdatasyncSync(fd)
      } catch (cause) {
        throw new StorageError('Could not record a request nonce durably', {
          details: `${path}: ${(cause as Error).message}`,
          hint: 'The request is refused; check the node state folder (disk space, permissions).',
          cause,
        })
      }
      live.set(nonce, expiresAt)
      lines++
      // Rewrite (dropping expired nonces) whenever the file doubled since the last rewrite.
      if (lines >= 2 * Math.max(512, liveAtRewrite)) rewrite(at)
      return false
    },
    close() {
      if (fd !== undefined) closeSync(fd)
      fd = undefined
    },
  }
}
