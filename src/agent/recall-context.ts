/**
 * The block of automatically recalled memories that the Verity middleware appends to the system
 * message, in one place: the middleware writes it with {@link formatRecallContext}, and a model
 * that wants to read it back (the offline scripted model does) uses {@link parseRecallContext}.
 */

/** The header the Verity middleware puts before automatically recalled memories in the system message. */
export const RECALL_CONTEXT_HEADER = 'Relevant memories from the vault:'

/** One recalled memory as the system message shows it. */
export type RecalledMemory = { id: string; text: string }

/**
 * The recall block: the header, then one `- [id] text` line per memory (white space folded), or
 * `(none)` when recall ran and found nothing, so the model knows memory was consulted.
 *
 * @example
 * ```ts
 * formatRecallContext([{ id: 'm1', text: 'Alice likes tea' }])
 * // 'Relevant memories from the vault:\n- [m1] Alice likes tea\n'
 * ```
 */
export function formatRecallContext(memories: readonly RecalledMemory[]): string {
  const lines =
    memories.length > 0 ? memories.map((memory) => `- [${memory.id}] ${memory.text.replace(/\s+/g, ' ')}`).join('\n') : '(none)'
  return `${RECALL_CONTEXT_HEADER}\n${lines}\n`
}

/**
 * Reads the memories of a recall block back out of a system message's text (none when it has no block).
 *
 * @example
 * ```ts
 * parseRecallContext(`Be brief.\n\n${formatRecallContext([{ id: 'm1', text: 'Alice likes tea' }])}`)
 * // [{ id: 'm1', text: 'Alice likes tea' }]
 * ```
 */
export function parseRecallContext(systemText: string): RecalledMemory[] {
  const start = systemText.indexOf(RECALL_CONTEXT_HEADER)
  if (start < 0) return []
  const memories: RecalledMemory[] = []
  for (const line of systemText.slice(start + RECALL_CONTEXT_HEADER.length).split('\n')) {
    const match = /^- \[([^\]]+)\] (.*)$/.exec(line.trim())
    if (match) memories.push({ id: match[1] as string, text: match[2] as string })
    else if (line.trim() === '' && memories.length > 0) break
  }
  return memories
}
