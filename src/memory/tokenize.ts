/**
 * Lower-case word tokens of a text: runs of Unicode letters and digits after NFKC normalisation.
 * The one tokenizer of the repository: the exact index's BM25, the hashing embedder's features
 * and the in-memory memory store all split text with it, so a word means the same thing everywhere.
 *
 * @example
 * ```ts
 * tokenize('Hello, World — ﬁle 42') // ['hello', 'world', 'file', '42']
 * ```
 */
export function tokenize(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  )
}
