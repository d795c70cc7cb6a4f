import { describe, expect, it } from 'vitest'
import { workInFlight } from '../../src/hub/work-in-flight.js'

const later = <T>(value: T, ms: number, fail = false) =>
  new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(new Error(String(value))) : resolve(value)), ms))

describe('workInFlight', () => {
  it('never runs more than its limit at once, and settles every task', async () => {
    const work = workInFlight(3)
    let running = 0
    let most = 0
    const done: number[] = []
    for (let index = 0; index < 10; index += 1) {
      running += 1
      most = Math.max(most, running)
      await work.add(
        later(index, 5 + (index % 3)).then((value) => {
          running -= 1
          done.push(value)
        }),
      )
    }
    await work.settle()
    expect(most).toBeLessThanOrEqual(3)
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('reports the first failure at the next add or at settle; drain waits without throwing', async () => {
    const work = workInFlight(2)
    await work.add(later('first', 5, true))
    await expect(work.add(later('second', 20))).rejects.toThrow('first')
    await expect(work.settle()).rejects.toThrow('first')
    const other = workInFlight(4)
    await other.add(later('late failure', 5, true))
    await expect(other.drain()).resolves.toBeUndefined()
  })
})
