#!/usr/bin/env node
import type { CommandRegistration } from './program.js'
import { createProgram, runProgram } from './program.js'

/**
 * Command modules by top-level command name, in the order they appear in `verity --help`.
 * Only the modules of the command being run are imported (they pull in LanceDB, EZKL, Lit...),
 * so `verity vault list` does not pay for loading the prover; `--help` loads them all.
 */
const commandModules: Record<string, () => Promise<CommandRegistration[]>> = {
  demo: async () => [(await import('./commands/demo.js')).registerDemoCommands],
  agent: async () => [(await import('./commands/agent.js')).registerAgentCommands],
  vault: async () => [
    (await import('./commands/vault.js')).registerVaultCommands,
    (await import('./commands/vault-access.js')).registerVaultAccessCommands,
  ],
  'lit-local': async () => [(await import('./commands/lit-local.js')).registerLitLocalCommands],
  model: async () => [(await import('./commands/model.js')).registerModelCommands],
  infer: async () => [(await import('./commands/infer.js')).registerInferCommands],
  proof: async () => [(await import('./commands/proof.js')).registerProofCommands],
  trace: async () => [
    (await import('./commands/trace.js')).registerTraceCommands,
    (await import('./commands/chain.js')).registerTraceAnchorCommand,
  ],
  hub: async () => [(await import('./commands/hub.js')).registerHubCommands],
  chain: async () => [(await import('./commands/chain.js')).registerChainCommands],
  prover: async () => [(await import('./commands/prover.js')).registerProverCommands],
  daemon: async () => [(await import('./commands/daemon.js')).registerDaemonCommands],
  mcp: async () => [(await import('./commands/daemon.js')).registerMcpCommand],
}

const requested = process.argv.slice(2).find((argument) => !argument.startsWith('-'))
const selected = requested !== undefined && requested in commandModules ? [requested] : Object.keys(commandModules)
const registrations = (await Promise.all(selected.map((name) => commandModules[name]!()))).flat()

process.exitCode = await runProgram(createProgram({ registrations }), process.argv)
