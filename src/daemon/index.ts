/**
 * `verity/daemon`: the agent runtime daemon: an authenticated HTTP API (hono), an MCP server (stdio and
 * Streamable HTTP) and a web trace explorer.
 */
export type {
  AgentDefinition,
  AgentHost,
  CreateAgentHostParameters,
  CreateAgentHostReturnType,
  CreateAgentRequest,
} from './agent-host.js'
export { agentDefinitionSchema, createAgentHost, createAgentRequestSchema, runAgentRequestSchema } from './agent-host.js'
export { authenticate, EXPLORER_COOKIE, principalOf } from './authenticate.js'
export type { CreateDaemonAppParameters, CreateDaemonAppReturnType } from './create-daemon-app.js'
export { createDaemonApp, DAEMON_VERSION, daemonRoutes } from './create-daemon-app.js'
export type {
  DaemonConfig,
  DaemonConfigInput,
  ResolveDaemonConfigParameters,
  ResolveDaemonConfigReturnType,
} from './daemon-config.js'
export { DAEMON_ENVIRONMENT, daemonConfigSchema, resolveDaemonConfig } from './daemon-config.js'
export type { CreateDaemonServicesParameters, CreateDaemonServicesReturnType, DaemonServices } from './daemon-services.js'
export { createDaemonServices, siweDomainOf } from './daemon-services.js'
export type { ErrorBody } from './http-error.js'
export { errorResponse, httpStatusOf, readJsonBody } from './http-error.js'
export type {
  CreateInferenceServiceParameters,
  CreateInferenceServiceReturnType,
  InferenceService,
  InferRequest,
} from './inference-service.js'
export { createInferenceService, inferRequestSchema, verifyRequestSchema } from './inference-service.js'
export type { CreateVerityMcpServerParameters, CreateVerityMcpServerReturnType } from './mcp-server.js'
export { createVerityMcpServer, MCP_TOOL_NAMES } from './mcp-server.js'
export type {
  CreateMcpTraceLogParameters,
  CreateMcpTraceLogReturnType,
  McpToolCall,
  McpToolOutcome,
  McpTraceLog,
} from './mcp-trace-log.js'
export { createMcpTraceLog } from './mcp-trace-log.js'
export type { CreateOpenApiDocumentParameters, CreateOpenApiDocumentReturnType } from './openapi.js'
export { createOpenApiDocument } from './openapi.js'
export type { CreateRateLimiterParameters, CreateRateLimiterReturnType, RateLimiter } from './rate-limiter.js'
export { createRateLimiter } from './rate-limiter.js'
export type { DaemonRoute, RouteAccess, RouteInput } from './route.js'
export { defineRoute } from './route.js'
export type { RunKeyResolverParameters, RunSealKey, SealRunTraceParameters, SealRunTraceReturnType } from './run-sealing.js'
export { runKeyResolver, sealRunTrace } from './run-sealing.js'
export type { OpenRunStoreParameters, OpenRunStoreReturnType, RunEvent, RunRecord, RunStatus, RunStore } from './run-store.js'
export { openRunStore, runRecordSchema } from './run-store.js'
export type { RevealedEntry, TimelineEntry, Verification } from './run-view.js'
export { revealEntry, revealedEntrySchema, runTimeline, timelineEntrySchema, verificationSchema, verifyRun } from './run-view.js'
export type { Principal, Scope, ScopeLevel, ScopeResource } from './scopes.js'
export { SCOPE_LEVELS, SCOPE_RESOURCES, scopeAllows, scopeSchema } from './scopes.js'
export type {
  CreateSiweAuthenticatorParameters,
  CreateSiweAuthenticatorReturnType,
  SiweAuthenticator,
  SiweSignIn,
} from './siwe-auth.js'
export { createSiweAuthenticator, SIWE_SESSION_PREFIX, SIWE_SESSION_SCOPES, siweSignInSchema } from './siwe-auth.js'
export type { SseSource } from './sse.js'
export { openSseStreams, sseResponse } from './sse.js'
export type { StartDaemonParameters, StartDaemonReturnType } from './start-daemon.js'
export { startDaemon } from './start-daemon.js'
export type {
  CreatedToken,
  CreateTokenParameters,
  OpenTokenStoreParameters,
  OpenTokenStoreReturnType,
  StoredToken,
  TokenStore,
} from './token-store.js'
export { openTokenStore, parseScopes, TOKEN_PREFIX } from './token-store.js'
export type {
  CreateVaultSessionsParameters,
  CreateVaultSessionsReturnType,
  VaultGuardInput,
  VaultSessionInfo,
  VaultSessions,
} from './vault-sessions.js'
export { createVaultSessions, vaultGuardSchema, vaultNameSchema } from './vault-sessions.js'
