#!/usr/bin/env node
import { registerVaultCommands } from './commands/vault.js'
import { registerLitLocalCommands } from './commands/lit-local.js'
import { registerVaultAccessCommands } from './commands/vault-access.js'
import { registerInferCommands } from './commands/infer.js'
import { registerModelCommands } from './commands/model.js'
import { registerProofCommands } from './commands/proof.js'
import { registerTraceCommands } from './commands/trace.js'
import { registerDemoCommands } from './commands/demo.js'
import { registerAgentCommands } from './commands/agent.js'
import { createProgram, runProgram } from './program.js'

// One line per command module, in the order they appear in `verity --help`.
const program = createProgram({
  registrations: [registerVaultCommands, registerVaultAccessCommands, registerLitLocalCommands, registerModelCommands, registerInferCommands, registerProofCommands, registerTraceCommands, registerDemoCommands, registerAgentCommands],
})

process.exitCode = await runProgram(program, process.argv)
