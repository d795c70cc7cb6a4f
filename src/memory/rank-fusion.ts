import type { IndexHit } from './vector-index.js'

/**
 * Hybrid ranking, one definition for every index: reciprocal-rank fusion (Cormack et al. 2009)
 * of a vector ranking and a text ranking. Both the exact index and the LanceDB index call
 * {@link fuseRankings}, so the same two rankings fuse to the same list whatever the index.
 */

/** Reciprocal-rank-fusion constant (Cormack et al. 2009). */
export const RRF_K = 60

/**
 * How deep each ranking goes into a hybrid search for `k` results: `max(3k, 30)`.
 *
 * @example
 * ```ts
 * hybridDepth(5) // 30
 * ```
 */
export function hybridDepth(k: number): number {
  return Math.max(k * 3, 30)
}

/**
 * Orders hits by score (higher first), then by id, so equal scores rank the same in every index.
 *
 * @example
 * ```ts
 * [{ id: 'b', score: 1 }, { id: 'a', score: 1 }].sort(compareHits) // a, b
 * ```
 */
export function compareHits(a: IndexHit, b: IndexHit): number {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export type FuseRankingsParameters = {
  /** Each ranking, best first (re-ordered by {@link compareHits} so ties break by id). */
  rankings: readonly (readonly IndexHit[])[]
  k: number
}

/**
 * Fuses rankings: each hit scores `Σ 1 / (RRF_K + rank + 1)` over the rankings it appears in
 * (rank from 0, each ranking cut at {@link hybridDepth}), ties broken by id; a hit keeps the
 * first cosine distance any ranking gave it (text rankings give none).
 *
 * @example
 * ```ts
 * const hits = fuseRankings({ rankings: [byVector, byText], k: 10 })
 * ```
 */
export function fuseRankings(parameters: FuseRankingsParameters): IndexHit[] {
  const depth = hybridDepth(parameters.k)
  const fused = new Map<string, IndexHit>()
  for (const ranking of parameters.rankings)
    [...ranking]
      .sort(compareHits)
      .slice(0, depth)
      .forEach((hit, rank) => {
        const current = fused.get(hit.id)
        fused.set(hit.id, {
          id: hit.id,
          score: (current?.score ?? 0) + 1 / (RRF_K + rank + 1),
          distance: current?.distance ?? hit.distance,
        })
      })
  return [...fused.values()].sort(compareHits).slice(0, parameters.k)
}
