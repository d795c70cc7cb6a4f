import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { initChatModel } from 'langchain'
import { MODEL_PROVIDER_CONFIG } from 'langchain/chat_models/universal'
import { z } from 'zod'
import { ModelProviderError } from '../errors.js'
import { parseInput } from '../validation.js'
import { createScriptedChatModel } from './scripted-chat-model.js'

export type ResolveChatModelParameters = {
  /** `provider:model` (`openai:gpt-4o-mini`, `anthropic:claude-sonnet-4-5`, `ollama:llama3.1`); none: the offline planner. */
  model?: string | undefined
}
export type ResolveChatModelReturnType = Promise<BaseChatModel>

const modelSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*:[^\s]+$/, 'expected provider:model, e.g. openai:gpt-4o-mini')
  .optional()

/**
 * The chat model a CLI run uses: LangChain's `initChatModel` for a named `provider:model` (its
 * provider package must be installed, e.g. `@langchain/openai`), else the offline scripted
 * planner. The provider class is loaded here, so a missing package fails before the run, with
 * a typed error that says what to install.
 *
 * @example
 * ```ts
 * const model = await resolveChatModel({ model: 'ollama:llama3.1' }) // ChatOllama
 * const offline = await resolveChatModel({}) // the scripted planner
 * ```
 */
export async function resolveChatModel(parameters: ResolveChatModelParameters = {}): ResolveChatModelReturnType {
  const name = parseInput(modelSchema, parameters.model, {
    what: '--model',
    hint: 'Name a model as provider:model, e.g. openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, ollama:llama3.1.',
    docsPath: 'agent.md',
  })
  if (name === undefined) return createScriptedChatModel()
  const provider = name.slice(0, name.indexOf(':'))
  const config = (MODEL_PROVIDER_CONFIG as Record<string, { package: string; className: string } | undefined>)[provider]
  if (!config)
    throw new ModelProviderError('Unknown model provider', {
      details: `'${provider}' in '${name}'`,
      hint: `Use one of: ${Object.keys(MODEL_PROVIDER_CONFIG).join(', ')}.`,
      docsPath: 'agent.md',
    })
  try {
    await import(config.package)
  } catch (cause) {
    throw new ModelProviderError('The model provider package is not installed', {
      details: `'${name}' needs ${config.package}`,
      hint: `npm install ${config.package} (and set the provider's API key, e.g. OPENAI_API_KEY, if it needs one).`,
      docsPath: 'agent.md',
      cause,
    })
  }
  const model = (await initChatModel(name)) as unknown as BaseChatModel & {
    _getModelInstance?: (config?: unknown) => Promise<BaseChatModel>
  }
  // initChatModel returns a configurable wrapper whose provider model is made on first use: make it now.
  return typeof model._getModelInstance === 'function' ? model._getModelInstance() : model
}
