import { existsSync } from 'node:fs'
import { basename, dirname, resolve, sep } from 'node:path'
import type { EmbeddingsInterface } from '@langchain/core/embeddings'
import { EmbedderUnavailableError } from '../../errors.js'
import type { EmbedderDescription, RecordedEmbedder } from '../vault-embedder.js'
import type { Embedder } from './embedder.js'
import { describeEmbedderSpec, type EmbedderSpec } from './embedder-spec.js'
import { fromLangChainEmbeddings } from './from-langchain-embeddings.js'
import { createHashingEmbedder } from './hashing-embedder.js'
import { importFromProject } from './import-from-project.js'

export type ResolveEmbedderParameters = {
  /** The embedder the user names (CLI `--embedder`); overrides the recorded spec, and may name a module path. */
  spec?: EmbedderSpec | undefined
  /** What a vault header records (id, dimension, spec); its id and dimension are kept for the embedder made. */
  recorded?: RecordedEmbedder | undefined
  /** The user's project, where packages and relative folders are looked up (default: the working directory). */
  directory?: string | undefined
  /**
   * With `recorded`: return at once an embedder with the vault's id, dimension and spec that loads
   * the package or model at its first embedding, so commands that never embed (list, get, delete)
   * neither need it installed nor pay for loading it. A load failure is then thrown by that embedding.
   */
  lazy?: boolean | undefined
}
/**
 * An embedder that can embed; or, for a vault that records no spec and no known embedder, just
 * its id and dimension (it lists and gets; searching by text then asks for `--embedder`).
 */
export type ResolveEmbedderReturnType = Promise<Embedder | EmbedderDescription>

const HASHING_ID = /^verity\/hashing-(\d+)@1$/

/** `[\w.:-]` only, as embedder ids allow. */
function idPart(text: string): string {
  return text.replace(/[^\w.:-]+/g, '-').slice(0, 120) || 'default'
}

function hashing(recorded: RecordedEmbedder | undefined): Embedder {
  const match = recorded ? HASHING_ID.exec(recorded.id) : null
  return createHashingEmbedder(match ? { dimension: Number(match[1]) } : {})
}

/** Wraps LangChain embeddings with the vault's id and dimension, or a default id and a probed dimension for a new vault. */
async function wrap(
  embeddings: EmbeddingsInterface,
  spec: EmbedderSpec,
  defaultId: string,
  recorded: RecordedEmbedder | undefined,
): Promise<Embedder> {
  const dimension = recorded?.dimension ?? (await embeddings.embedQuery('verity dimension probe')).length
  const wrapped = fromLangChainEmbeddings(embeddings, { id: defaultId, dimension, spec })
  return recorded ? { ...wrapped, id: recorded.id } : wrapped
}

async function langchain(
  spec: Extract<EmbedderSpec, { kind: 'langchain' }>,
  parameters: ResolveEmbedderParameters,
  allowPaths: boolean,
): Promise<Embedder> {
  const what = `embedder ${describeEmbedderSpec(spec)}`
  const module = await importFromProject({ specifier: spec.module, directory: parameters.directory, allowPaths, what })
  const Constructor = module[spec.export]
  if (typeof Constructor !== 'function')
    throw new EmbedderUnavailableError('The embedder module has no such export', {
      details: `'${spec.module}' exports no class '${spec.export}' (exports: ${Object.keys(module).slice(0, 20).join(', ') || 'none'})`,
      hint: 'Name the LangChain embeddings class the package exports, e.g. langchain:@langchain/openai#OpenAIEmbeddings.',
      docsPath: 'embedders.md',
      meta: { spec },
    })
  let embeddings: EmbeddingsInterface
  try {
    embeddings = new (Constructor as new (options: unknown) => EmbeddingsInterface)(spec.options)
  } catch (cause) {
    throw new EmbedderUnavailableError('The embeddings class refused its options', {
      details: `new ${spec.export}(${JSON.stringify(spec.options)}): ${(cause as Error).message}`,
      hint: 'Check --embedder-options, and set the provider’s API key in the environment (e.g. OPENAI_API_KEY) if it needs one.',
      docsPath: 'embedders.md',
      meta: { spec },
      cause,
    })
  }
  const model = spec.options.model ?? spec.options.modelName
  return wrap(embeddings, spec, `langchain/${idPart(spec.export)}:${idPart(String(model ?? 'default'))}@1`, parameters.recorded)
}

type FeatureExtractor = (texts: string[], options: { pooling: string; normalize: boolean }) => Promise<{ tolist(): number[][] }>
type TransformersModule = {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string }
  pipeline: (task: 'feature-extraction', model: string, options: { local_files_only: boolean }) => Promise<FeatureExtractor>
}

async function transformers(spec: Extract<EmbedderSpec, { kind: 'transformers' }>, parameters: ResolveEmbedderParameters) {
  const folder = resolve(parameters.directory ?? process.cwd(), spec.folder)
  if (!existsSync(resolve(folder, 'config.json')))
    throw new EmbedderUnavailableError('The transformers.js model folder is missing', {
      details: `${folder} has no config.json (model '${spec.model}')`,
      hint: 'Point --embedder transformers:FOLDER at a local transformers.js model folder (config.json, tokenizer, onnx/).',
      docsPath: 'embedders.md',
      meta: { spec, folder },
    })
  const module = (await importFromProject({
    specifier: '@huggingface/transformers',
    directory: parameters.directory,
    what: `embedder ${describeEmbedderSpec(spec)}`,
  })) as unknown as TransformersModule
  // Offline: only the local folder, never the Hugging Face Hub.
  module.env.allowRemoteModels = false
  module.env.allowLocalModels = true
  module.env.localModelPath = dirname(folder) + sep
  let extractor: FeatureExtractor
  try {
    extractor = await module.pipeline('feature-extraction', basename(folder), { local_files_only: true })
  } catch (cause) {
    throw new EmbedderUnavailableError('The transformers.js model failed to load', {
      details: `${folder}: ${(cause as Error).message}`,
      hint: 'Check that the folder holds a feature-extraction model in transformers.js layout (onnx/model.onnx).',
      docsPath: 'embedders.md',
      meta: { spec, folder },
      cause,
    })
  }
  const options = { pooling: spec.pooling, normalize: spec.normalize }
  const embeddings: EmbeddingsInterface = {
    async embedDocuments(texts) {
      return (await extractor(texts, options)).tolist()
    },
    async embedQuery(text) {
      return (await extractor([text], options)).tolist()[0] as number[]
    },
  }
  return wrap(embeddings, spec, `transformers/${idPart(spec.model)}@1`, parameters.recorded)
}

/**
 * Makes an embedder from a spec: the one the user names (`spec`), else the one a vault header
 * records (`recorded.spec`). `hashing` is built in; `langchain` imports the package from the
 * user's project and constructs the class with its JSON options; `transformers` loads a local
 * model folder with `@huggingface/transformers` (installed by the user; offline). A missing
 * package, export or folder is an {@link EmbedderUnavailableError} with an install hint.
 *
 * A module *path* is loaded only when the user names it: a spec read from a vault header may name
 * packages only (opening someone else's vault never runs a file of their choosing). A vault that
 * records no spec (made before specs, or in code without one) gets the hashing embedder when its
 * id is the hashing one (what the CLI always used), else just its id and dimension.
 *
 * @example
 * ```ts
 * const vault = await openVault({ path, guards, embedderResolver: (recorded) => resolveEmbedder({ recorded }) })
 * const embedder = await resolveEmbedder({ spec: parseEmbedderOption({ value: 'langchain:@langchain/openai#OpenAIEmbeddings' }) })
 * ```
 */
export async function resolveEmbedder(parameters: ResolveEmbedderParameters): ResolveEmbedderReturnType {
  const { recorded } = parameters
  const spec = parameters.spec ?? recorded?.spec
  const named = parameters.spec !== undefined
  if (!spec) {
    if (!recorded || HASHING_ID.test(recorded.id)) return hashing(recorded)
    return { id: recorded.id, dimension: recorded.dimension }
  }
  if (parameters.lazy && recorded && spec.kind !== 'hashing') {
    let loading: Promise<Embedder> | undefined
    const load = () => {
      loading ??= resolveEmbedder({ ...parameters, lazy: false }) as Promise<Embedder>
      return loading
    }
    return {
      specificationVersion: 'v1',
      id: recorded.id,
      dimension: recorded.dimension,
      spec,
      async embedDocuments(documents: string[]) {
        return (await load()).embedDocuments(documents)
      },
      async embedQuery(document: string) {
        return (await load()).embedQuery(document)
      },
    }
  }
  switch (spec.kind) {
    case 'hashing':
      return hashing(recorded)
    case 'langchain':
      return langchain(spec, parameters, named)
    case 'transformers':
      return transformers(spec, parameters)
  }
}
