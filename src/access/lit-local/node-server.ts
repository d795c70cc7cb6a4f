import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { InvalidInputError } from '../../errors.js'
import { hashLitConditions, litIdentity, parseLitConditions } from '../lit-conditions.js'
import { type ChainEndpoints, ConditionEvaluationError, createConditionEvaluator } from './evaluate-conditions.js'
import { NONCE_FILE_NAME, openNonceFile } from './nonce-file.js'
import { ENCRYPTION_SIGN_PATH, INFO_PATH, LIT_LOCAL_PROTOCOL } from './protocol.js'
import { createNonceStore, verifySessionSig } from './session-signature.js'
import type { ShareFile } from './share-file.js'
import { signShare } from './threshold-bls.js'

export { ENCRYPTION_SIGN_PATH, INFO_PATH, LIT_LOCAL_PROTOCOL } from './protocol.js'

export type StartLitLocalNodeParameters = {
  share: ShareFile
  /** Chains this node can read, by Lit chain name (`ethereum`, `sepolia`...). */
  chains: ChainEndpoints
  /** SIWE domain requests must name (default `localhost`). */
  domain?: string | undefined
  /** SIWE chain id requests must name (default 1, Lit's). */
  siweChainId?: number | undefined
  /**
   * The node's state folder: used request nonces are kept there (`used-nonces.jsonl`), so a request
   * captured before a restart is refused after it. Without it nonces live in memory only.
   */
  stateDirectory?: string | undefined
  host?: string | undefined
  /** 0 picks a free port. */
  port?: number | undefined
  /** One line per request (never key material). Default: none. */
  log?: ((line: string) => void) | undefined
}
export type StartLitLocalNodeReturnType = { url: string; server: Server; close(): Promise<void> }

/**
 * Runs one key-holder node of the local Lit-compatible network: an HTTP server on 127.0.0.1
 * that, for a request carrying valid session signatures from a wallet that meets the
 * request's access-control conditions (read from the chain through ethers), returns its BLS
 * signature share over Lit's identity for those conditions and data hash.
 *
 * @example
 * ```ts
 * const node = await startLitLocalNode({ share: await readShareFile(path), chains: { ethereum: { rpcUrl } } })
 * console.log(node.url)
 * ```
 */
export async function startLitLocalNode(parameters: StartLitLocalNodeParameters): Promise<StartLitLocalNodeReturnType> {
  const { share, chains, domain = 'localhost', siweChainId = 1, host = '127.0.0.1', port = 0, log } = parameters
  const evaluator = createConditionEvaluator({ chains })
  const nonceFile = parameters.stateDirectory
    ? openNonceFile({ path: join(parameters.stateDirectory, NONCE_FILE_NAME) })
    : undefined
  const nonces = nonceFile ?? createNonceStore()
  let url = ''

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method === 'GET' && path === INFO_PATH) {
      return send(response, 200, {
        protocol: LIT_LOCAL_PROTOCOL,
        networkPublicKey: share.networkPublicKey,
        threshold: share.threshold,
        nodes: share.nodes,
        index: share.index,
        sharePublicKey: share.publicKey,
        domain,
        chains: Object.keys(chains),
      })
    }
    if (request.method !== 'POST' || path !== ENCRYPTION_SIGN_PATH)
      return send(response, 404, failure('not-found', 'no such endpoint'))
    let body: Record<string, unknown>
    try {
      body = JSON.parse(await readBody(request, 256 * 1024))
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object')
    } catch {
      return send(response, 400, failure('malformed-request', 'request body is not a JSON object'))
    }
    const { authSig, ...signed } = body
    const auth = verifySessionSig({ sessionSig: authSig, body: signed, nodeUrl: url, domain, chainId: siweChainId, nonces })
    if ('reason' in auth) {
      log?.(`refused ${auth.reason}: ${auth.message}`)
      return send(response, auth.reason === 'malformed-auth' ? 400 : 401, failure(auth.reason, auth.message))
    }
    let conditions: Awaited<ReturnType<typeof parseLitConditions>>
    try {
      conditions = await parseLitConditions({
        accessControlConditions: signed.accessControlConditions ?? undefined,
        evmContractConditions: signed.evmContractConditions ?? undefined,
        unifiedAccessControlConditions: signed.unifiedAccessControlConditions ?? undefined,
        chain: signed.chain ?? undefined,
      })
    } catch (error) {
      const message = error instanceof InvalidInputError ? `${error.shortMessage}: ${error.details ?? ''}` : 'invalid conditions'
      log?.(`refused malformed-conditions for ${auth.address}`)
      return send(response, 400, failure('malformed-conditions', message.slice(0, 400)))
    }
    const dataToEncryptHash = signed.dataToEncryptHash
    if (typeof dataToEncryptHash !== 'string' || !/^[0-9a-f]{64}$/.test(dataToEncryptHash))
      return send(response, 400, failure('malformed-request', 'dataToEncryptHash must be 64 hex characters'))
    let allowed: boolean
    try {
      allowed = await evaluator.evaluate(conditions, auth.address)
    } catch (error) {
      if (error instanceof ConditionEvaluationError) {
        log?.(`refused ${error.reason} for ${auth.address}`)
        return send(response, error.reason === 'chain-unreachable' ? 502 : 400, failure(error.reason, error.message))
      }
      throw error
    }
    if (!allowed) {
      log?.(`denied ${auth.address}: conditions not met`)
      return send(response, 403, failure('conditions-not-met', `${auth.address} does not meet the access-control conditions`))
    }
    const conditionsHash = await hashLitConditions(conditions)
    if (!auth.conditionHashes.includes('*') && !auth.conditionHashes.includes(conditionsHash)) {
      log?.(`refused wrong-resource for ${auth.address}`)
      return send(response, 401, failure('wrong-resource', 'the session does not cover these conditions'))
    }
    const identity = litIdentity({ conditionsHash, dataToEncryptHash })
    log?.(`granted share ${share.index} to ${auth.address}`)
    return send(response, 200, {
      result: 'success',
      curveType: 'BLS',
      shareIndex: share.index,
      signatureShare: signShare({ secret: share.secret, identity }),
    })
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log?.(`internal error: ${error instanceof Error ? error.message : String(error)}`)
      if (!response.headersSent) send(response, 500, failure('internal', 'internal node error'))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  url = `http://${host}:${address.port}`
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          nonceFile?.close()
          resolve()
        })
      }),
  }
}

function failure(reason: string, message: string) {
  return { error: { reason, message } }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new Error('body too large'))
        request.destroy()
      } else chunks.push(chunk)
    })
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}
