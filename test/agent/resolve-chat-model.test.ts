import { ChatOllama } from '@langchain/ollama'
import { describe, expect, it } from 'vitest'
import { resolveChatModel } from '../../src/agent/resolve-chat-model.js'
import { ScriptedChatModel } from '../../src/agent/scripted-chat-model.js'
import { InvalidInputError, ModelProviderError } from '../../src/errors.js'

// No network: only which class initChatModel resolves a name to, and the typed errors before a run.
describe('resolveChatModel (what --model does in verity demo / verity agent run)', () => {
  it('resolves provider:model through initChatModel to the provider class, offline', async () => {
    const model = await resolveChatModel({ model: 'ollama:llama3.1' })
    expect(model).toBeInstanceOf(ChatOllama)
    expect((model as ChatOllama).model).toBe('llama3.1')
  })

  it('without a name, is the offline planner', async () => {
    expect(await resolveChatModel({})).toBeInstanceOf(ScriptedChatModel)
  })

  it('names the package to install when the provider package is missing, and refuses unknown providers and bad names', async () => {
    const missing = await resolveChatModel({ model: 'mistralai:mistral-large-latest' }).catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(ModelProviderError)
    expect((missing as ModelProviderError).hint).toContain('npm install @langchain/mistralai')
    await expect(resolveChatModel({ model: 'nosuchprovider:x' })).rejects.toBeInstanceOf(ModelProviderError)
    await expect(resolveChatModel({ model: 'gpt-4o' })).rejects.toBeInstanceOf(InvalidInputError)
  })
})
