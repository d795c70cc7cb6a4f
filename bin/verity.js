#!/usr/bin/env node
// Entry point of the `verity` command: runs the compiled CLI from dist/.
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    process.stderr.write('verity: the CLI is not built yet. Run `npm run build` (npm install runs it for you).\n')
    process.exit(70)
  }
  throw error
})
