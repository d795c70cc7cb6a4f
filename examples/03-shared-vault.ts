/**
 * Example 3: one vault shared by two agents. Alice creates it under her passphrase and grants
 * Bob's agent key (an owner-guard stanza: the data key ECIES-wrapped to Bob's secp256k1 public
 * key); Bob, holding only his own keystore, opens the vault and recalls what Alice remembered.
 * Both leave signed traces.
 *
 * Run:  npm run build && node --import tsx examples/03-shared-vault.ts [home]
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ownerGuard, passphraseGuard } from 'verity/access'
import { createScriptedChatModel, createVerityAgent, traceRecorder, vaultMemoryStore } from 'verity/agent'
import { createAgentIdentity } from 'verity/identity'
import { createHashingEmbedder, createVault, openVault } from 'verity/memory'
import { openTrace, verifyTrace } from 'verity/trace'

const home = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'verity-example-3-')))
const vaultPath = join(home, 'team-vault')
const embedder = createHashingEmbedder()
const ownerPassphrase = 'owner passphrase, change me'
const bobPassphrase = 'bob keystore passphrase, change me'
const namespace = 'team:payments' // both agents read and write the same namespace

// Bob's agent identity; he shares only his public key.
const bob = await createAgentIdentity({ home: join(home, 'bob'), passphrase: bobPassphrase, scrypt: { N: 2 ** 14 } })
const bobKey = () => ownerGuard({ keystore: readFileSync(bob.keystorePath, 'utf8'), password: bobPassphrase })
const bobPublicKey = bobKey().publicKey

// Agent A (Alice, the owner) creates the vault, grants Bob's key, and remembers a fact.
const alice = await createAgentIdentity({ home: join(home, 'alice'), passphrase: ownerPassphrase, scrypt: { N: 2 ** 14 } })
const ownerVault = await createVault({ path: vaultPath, guards: [passphraseGuard({ passphrase: ownerPassphrase })], embedder })
// Bob writes too (his agent keeps its trace key in the vault): a writer grant. A reader grant opens read-only.
await ownerVault.grant(ownerGuard({ publicKey: bobPublicKey }), { write: true })
const aliceTrace = await openTrace({ path: join(home, 'alice.trace.jsonl'), signer: alice.signer })
const writer = createVerityAgent({
  name: 'alice',
  model: createScriptedChatModel(),
  memory: vaultMemoryStore({ vault: ownerVault }),
  namespace,
  recorder: traceRecorder({ trace: aliceTrace }),
})
await writer.invoke('remember that the supplier Acme invoices on the 3rd of each month')
await aliceTrace.end()
await ownerVault.close()

// Agent B (Bob) opens the same vault with his own key and recalls the fact.
const analystVault = await openVault({ path: vaultPath, guards: [bobKey()], embedder })
const bobTrace = await openTrace({ path: join(home, 'bob.trace.jsonl'), signer: bob.signer })
const reader = createVerityAgent({
  name: 'bob',
  model: createScriptedChatModel(),
  memory: vaultMemoryStore({ vault: analystVault }),
  namespace,
  recorder: traceRecorder({ trace: bobTrace }),
})
const { answer } = await reader.invoke('when does the supplier Acme invoice?')
await bobTrace.end()
const grants = analystVault.grants().map((grant) => grant.kind)
await analystVault.close()

const reports = await Promise.all(
  ['alice', 'bob'].map((name) => verifyTrace({ path: join(home, `${name}.trace.jsonl`), workers: 0 })),
)
console.log(
  JSON.stringify({
    answer,
    grants,
    traces: reports.map((report) => ({ ok: report.ok, agent: report.agents[0], entries: report.entries })),
  }),
)
