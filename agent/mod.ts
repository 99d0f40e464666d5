/**
 * cassemagent as a library: {@linkcode createAgent} builds the whole agent
 * without sockets (tests use `agent.app.request`), {@linkcode startGrpcServer}
 * serves its gRPC API, and the pieces it is built from are exported for
 * tests and benchmarks. `main.ts` is the process.
 *
 * @module
 */

export { type Agent, type AgentDeps, createAgent } from "./app.ts";
export { AgentCore, type CoreOptions, type Subscription } from "./core.ts";
export {
  type Body,
  elementJson,
  elementText,
  type ErrorBody,
  type Found,
  ReadResult,
  TextBody,
} from "./body.ts";
export * from "./errors.ts";
export { type AgentConfig, defaultAgentId, FlagError, parseFlags, USAGE } from "./flags.ts";
export { agentService, type GrpcServer, peerHost, startGrpcServer } from "./grpc_service.ts";
export { Health } from "./health.ts";
export {
  chooseVersion,
  CLIENT_ID_HEADER,
  type ClientIdentity,
  identityFrom,
  LABELS_HEADER,
  SECRET_HEADER,
} from "./identity.ts";
export { InstanceRegistry, InstanceReport } from "./instances.ts";
export { LruKCache, type LruKOptions, type LruKStats } from "./lru_k.ts";
export { SelfRecord } from "./self_record.ts";
export { type ServedVersion } from "./serve_records.ts";
export { ServedState } from "./served.ts";
export { SseSink } from "./sse.ts";
export type { ElementJson, PushItem, PushSink, Subscriber } from "./subscriptions.ts";
