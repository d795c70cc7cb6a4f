import type { z } from 'zod'
import { InvalidInputError } from './errors.js'

export type ParseInputParameters = {
  /** What is being validated, for the message (e.g. `openVault parameters`). */
  what: string
  /** What the user should do instead. */
  hint?: string | undefined
  docsPath?: string | undefined
}

/**
 * Validates untrusted input against a zod schema at a public entry point and returns the
 * parsed value, or throws {@link InvalidInputError} listing every problem with its path.
 *
 * @example
 * ```ts
 * const options = parseInput(addSchema, input, { what: 'vault.add input' })
 * ```
 */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  parameters: ParseInputParameters,
): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
  throw new InvalidInputError(`Invalid ${parameters.what}`, {
    details: problems.join('; '),
    hint: parameters.hint ?? 'Check the value against the documented parameters.',
    docsPath: parameters.docsPath,
    cause: result.error,
    meta: { issues: problems },
  })
}
