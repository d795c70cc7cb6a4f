import { AIMessage } from '@langchain/core/messages'
import { type FakeBuiltModel, fakeModel } from '@langchain/core/testing'
import { type StructuredToolInterface, tool } from '@langchain/core/tools'
import { z } from 'zod'
import { createVerityAgent } from '../../../src/agent/create-verity-agent.js'
import type { ProofPolicy } from '../../../src/agent/policy.js'
import { traceRecorder } from '../../../src/agent/trace-recorder.js'
import type { AgentSigner } from '../../../src/identity/secp256k1-signer.js'
import { openTrace } from '../../../src/trace/open-trace.js'

/** One tool call a scripted model makes: the tool's name, its arguments, the call id its result answers. */
export type ScriptedToolCall = { name: string; args: Record<string, unknown>; id: string }

/**
 * LangChain's own fake tool-calling model (`fakeModel` of @langchain/core/testing), not Verity's planner,
 * scripted for one task the way a provider's model answers it: first the tool calls (in parallel when there
 * are several), then, once it has seen their results, the answer. Chain `.respond()`/`.respondWithTools()`
 * for later turns; `.calls` holds the messages it was shown at each call.
 *
 * @example
 * ```ts
 * const model = toolCallingModel({ toolCalls: [{ name: 'risk_score', args: { amount: 250 }, id: 'call-risk' }], answer: 'Hold it.' })
 * ```
 */
export function toolCallingModel(parameters: { toolCalls: ScriptedToolCall[]; answer: string | AIMessage }): FakeBuiltModel {
  const answer = typeof parameters.answer === 'string' ? new AIMessage(parameters.answer) : parameters.answer
  return fakeModel().respondWithTools(parameters.toolCalls).respond(answer)
}

/**
 * A final answer that reports its token usage (`usage_metadata`) as a provider's model does.
 *
 * @example
 * ```ts
 * const answer = answerWithUsage('Hold it for review.', { input: 30, output: 9 }) // total_tokens 39
 * ```
 */
export function answerWithUsage(content: string, usage: { input: number; output: number }): AIMessage {
  return new AIMessage({
    content,
    usage_metadata: { input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output },
  } as ConstructorParameters<typeof AIMessage>[0])
}

/**
 * The agent a scripted model drives through proven tools: `createVerityAgent` named `payments`, no automatic
 * recall, every decision recorded in a signed trace opened at `tracePath`, acting under `policy`. End the
 * returned trace when the run is over.
 *
 * @example
 * ```ts
 * const { agent, trace } = await tracedToolAgent({ model, tools: [risk], tracePath, signer: identity.signer, policy })
 * await agent.invoke('score this card transaction')
 * await agent.settle()
 * await trace.end()
 * ```
 */
export async function tracedToolAgent(parameters: {
  model: FakeBuiltModel
  tools: readonly StructuredToolInterface[]
  tracePath: string
  signer: AgentSigner
  policy: ProofPolicy
}) {
  const trace = await openTrace({ path: parameters.tracePath, signer: parameters.signer })
  const agent = createVerityAgent({
    name: 'payments',
    model: parameters.model,
    tools: parameters.tools,
    recallK: 0,
    recorder: traceRecorder({ trace }),
    policy: parameters.policy,
  })
  return { agent, trace }
}

/**
 * A plain (unproven) tool for agent tests: `risk_score` labels a payment amount `review` above 100, else `approve`.
 *
 * @example
 * ```ts
 * const agent = createVerityAgent({ name: 'payments', tools: [riskScoreTool] })
 * ```
 */
export const riskScoreTool = tool(
  async ({ amount }: { amount: number }) => JSON.stringify({ label: amount > 100 ? 'review' : 'approve' }),
  {
    name: 'risk_score',
    description: 'Score the risk of a payment amount',
    schema: z.object({ amount: z.number() }),
  },
)
