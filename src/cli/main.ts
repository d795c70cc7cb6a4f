#!/usr/bin/env node
import { createProgram, runProgram } from './program.js'

// One line per command module, in the order they appear in `verity --help`.
const program = createProgram({
  registrations: [],
})

process.exitCode = await runProgram(program, process.argv)
