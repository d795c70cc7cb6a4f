/**
 * The room import rules of docs/architecture.md, enforced by dependency-cruiser in `npm run lint`.
 * `rooms` is the one table: each room (a folder or file under src/) and the rooms it may import.
 * Everything not listed is forbidden, type-only imports included (a type import is still a
 * dependency a newcomer has to follow). Keep this table and the one in docs/architecture.md equal.
 */

/** Rooms every room above them may use: errors, input validation, crypto and durable writes. */
const foundation = ['errors', 'validation', 'crypto', 'storage']

/** room -> rooms it may import (besides itself). */
export const rooms = {
  errors: [],
  validation: ['errors'],
  crypto: ['errors'],
  storage: ['errors', 'crypto'],
  identity: [...foundation],
  access: [...foundation, 'identity'],
  memory: [...foundation, 'access'],
  proofs: [...foundation],
  trace: [...foundation, 'identity'],
  tools: [...foundation, 'memory', 'proofs', 'trace'],
  langchain: [...foundation, 'memory'],
  agent: [...foundation, 'identity', 'tools', 'trace', 'memory', 'langchain'],
  plugin: [...foundation, 'tools'],
  hub: [...foundation, 'identity', 'proofs'],
  chain: [...foundation, 'identity', 'proofs', 'trace'],
  index: ['errors', 'validation', 'crypto', 'storage', 'identity', 'access', 'memory', 'proofs', 'trace', 'tools', 'langchain', 'agent', 'plugin', 'hub', 'chain'],
  daemon: ['errors', 'validation', 'crypto', 'storage', 'identity', 'access', 'memory', 'proofs', 'trace', 'tools', 'langchain', 'agent', 'plugin', 'hub', 'chain'],
  cli: ['errors', 'validation', 'crypto', 'storage', 'identity', 'access', 'memory', 'proofs', 'trace', 'tools', 'langchain', 'agent', 'plugin', 'hub', 'chain', 'daemon'],
}

/** `src/NAME/` (a folder room) or `src/NAME.ts` (a one-file room). */
const roomPath = (names) => `^src/(${names.join('|')})(/|\\.ts$)`

const roomRules = Object.entries(rooms).map(([room, allowed]) => ({
  name: `room-${room}`,
  comment: `src/${room} may import only: ${allowed.length > 0 ? allowed.join(', ') : 'nothing'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: roomPath([room]) },
  to: { path: '^src/', pathNot: roomPath([room, ...allowed]) },
}))

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...roomRules,
    {
      name: 'room-unknown',
      comment: 'A new folder under src/ needs its row in docs/architecture.md and in the rooms table of .dependency-cruiser.mjs.',
      severity: 'error',
      from: { path: '^src/', pathNot: roomPath(Object.keys(rooms)) },
      to: {},
    },
    {
      name: 'no-circular',
      comment:
        'Imports run one way, inside a room too. A cycle closed only by type-only imports (a helper file naming the type of the object that calls it) loads in one order and is allowed inside a room; between rooms every import counts (room-* rules).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'plugins-public-plugin-api-only',
      comment: "First-party plugins are written against 'verity/plugin' only, like any third-party plugin.",
      severity: 'error',
      from: { path: '^plugins/' },
      to: { path: '^(src/|dist/)', pathNot: '^dist/plugin/' },
    },
    {
      name: 'examples-public-api-only',
      comment: "Examples are what a newcomer copies: they import 'verity/...' subpaths, never src/ by relative path.",
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: '^src/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import dependency-cruiser cannot resolve would escape every rule above.',
      severity: 'error',
      from: { path: '^(src|plugins|examples)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^dist/'] },
    exclude: { path: ['^dist-all/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
}
