/**
 * `verity/hub`: content-addressed model packages (UnixFS/CIDv1 blocks equal to kubo's, CAR files),
 * signed releases with versions and forks, and the IPFS trustless gateway protocol both ways.
 *
 * @example
 * ```ts
 * import { openHub, publishRelease, pullPackage } from 'verity/hub'
 * const hub = await openHub({ dir: '.verity/hub' })
 * const { release } = await publishRelease({ hub, dir: 'models/transaction-risk', signer })
 * await pullPackage({ hub, cid: release.packageCid, from: 'http://127.0.0.1:8080', to: 'models/pulled' })
 * ```
 */

export type { AddFolderParameters, AddFolderReturnType, HubProgress } from './add-folder.js'
export { addFolder } from './add-folder.js'
export type { CheckBlockParameters } from './block-check.js'
export { assertSupportedCid, checkBlock, parseCid } from './block-check.js'
export type {
  CarStreamParameters,
  ExportCarParameters,
  ExportCarReturnType,
  ImportCarParameters,
  ImportCarReturnType,
} from './car-file.js'
export { carStream, exportCar, importCar } from './car-file.js'
export type { WalkDagParameters, WalkDagReturnType } from './dag-walk.js'
export { linksOf, walkDag } from './dag-walk.js'
export type { ExportFolderParameters, ExportFolderReturnType } from './export-folder.js'
export { exportFolder } from './export-folder.js'
export type {
  BlockBatch,
  BlockCounters,
  BlockLocation,
  FolderBlockstore,
  OpenFolderBlockstoreParameters,
  OpenFolderBlockstoreReturnType,
} from './folder-blockstore.js'
export { openFolderBlockstore } from './folder-blockstore.js'
export type { StartHubGatewayParameters, StartHubGatewayReturnType } from './gateway-server.js'
export { HUB_INDEX_FORMAT, startHubGateway } from './gateway-server.js'
export type { HubModelResolverParameters, HubModelResolverReturnType } from './hub-model-resolver.js'
export { hubModelResolver } from './hub-model-resolver.js'
export type { Hub, OpenHubParameters, OpenHubReturnType } from './open-hub.js'
export { defaultHubDir, openHub } from './open-hub.js'
export type {
  ForkReleaseParameters,
  ForkReleaseReturnType,
  PublishReleaseParameters,
  PublishReleaseReturnType,
} from './publish-release.js'
export { forkRelease, publishRelease } from './publish-release.js'
export type {
  FetchReleaseIndexParameters,
  FetchReleaseIndexReturnType,
  PullPackageParameters,
  PullPackageReturnType,
} from './pull-package.js'
export { fetchReleaseIndex, pickRelease, pullPackage } from './pull-package.js'
export type { Release, ReleaseDetails, ReleaseMessage, SignReleaseParameters, SignReleaseReturnType } from './release.js'
export {
  HUB_DOMAIN,
  RELEASE_FORMAT,
  RELEASE_TYPES,
  releaseDetailsSchema,
  releaseId,
  releaseMessage,
  releaseNameSchema,
  releaseSchema,
  scopedName,
  signRelease,
  verifyRelease,
} from './release.js'
export type { ReleaseLogEntry, ReleaseLogParameters, ReleaseLogReturnType } from './release-log.js'
export { releaseLog } from './release-log.js'
export type {
  CheckRegistryEntryParameters,
  RegisterReleaseParameters,
  RegisterReleaseReturnType,
  RegistryRecordParameters,
  RegistryRecordReturnType,
  ReleaseRegistry,
  ReleaseRegistryEntry,
  ReleaseRegistryRecord,
  ResolveRegisteredReleaseParameters,
  ResolveRegisteredReleaseReturnType,
} from './release-registry.js'
export { checkRegistryEntry, registerRelease, registryRecord, resolveRegisteredRelease } from './release-registry.js'
export type { OpenReleaseStoreParameters, OpenReleaseStoreReturnType, ReleaseReference, ReleaseStore } from './release-store.js'
export { openReleaseStore, parseReleaseReference } from './release-store.js'
export type { ResolveModelParameters, ResolveModelReturnType } from './resolve-model.js'
export { resolveModel } from './resolve-model.js'
export {
  DAG_PB_CODE,
  KUBO_ADD_FLAGS,
  MAX_BLOCK_BYTES,
  RAW_CODE,
  SHA2_256_CODE,
  UNIXFS_CHUNK_SIZE,
  unixfsImporterOptions,
} from './unixfs-settings.js'
