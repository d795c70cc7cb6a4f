import { expect } from 'vitest'
import { ChainError } from '../../src/errors.js'

/** Expects a ChainError whose decoded revert reason matches. */
export async function expectRevert(promise: Promise<unknown>, reason: RegExp): Promise<ChainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ChainError)
  expect(String((error as ChainError).meta?.reason)).toMatch(reason)
  return error as ChainError
}
