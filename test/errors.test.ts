import { describe, expect, it } from 'vitest'
import { IntegrityError, InvalidInputError, isVerityError, VerityError } from '../src/errors.js'

describe('VerityError', () => {
  it('carries short message, details, hint, docs path and walks its causes', () => {
    const root = new Error('disk on fire')
    const middle = new IntegrityError('Segment failed authentication', { details: 'segments/ab.seg chunk 3', cause: root })
    const top = new VerityError('Could not open vault', {
      hint: 'Restore from backup',
      docsPath: 'vault-format.md',
      cause: middle,
    })
    expect(top.shortMessage).toBe('Could not open vault')
    expect(top.message).toContain('Hint: Restore from backup')
    expect(top.walk()).toBe(root)
    expect(top.walk((error) => error instanceof IntegrityError)).toBe(middle)
    expect(top.walk((error) => error instanceof InvalidInputError)).toBeUndefined()
    expect(middle).toBeInstanceOf(VerityError)
    expect(middle.name).toBe('IntegrityError')
    expect(middle.code).toBe('VERITY_INTEGRITY')
    expect(JSON.parse(JSON.stringify(middle)).details).toBe('segments/ab.seg chunk 3')
    expect(isVerityError(middle)).toBe(true)
    expect(isVerityError(root)).toBe(false)
  })
})
